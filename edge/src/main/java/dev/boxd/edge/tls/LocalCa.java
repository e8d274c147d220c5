package dev.boxd.edge.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The single-node certificate authority: an ECDSA P-256 key and a self-signed certificate kept in
 * a directory ({@code ca.key}, mode 0600, PKCS#8; {@code ca.crt}), made the first time it is
 * asked for. It issues leaf certificates for names under the zone only: the CA certificate
 * carries a critical name constraint for the zone, so trusting it trusts nothing else.
 */
public final class LocalCa {
  static final String KEY_FILE = "ca.key";
  static final String CERT_FILE = "ca.crt";
  private static final Duration CA_VALIDITY = Duration.ofDays(3650);
  /** Browsers refuse leaves valid for more than 398 days; short ones cost nothing to re-issue. */
  static final Duration LEAF_VALIDITY = Duration.ofDays(90);
  /** Clocks of clients may run a little behind. */
  private static final Duration BACKDATE = Duration.ofHours(1);
  private static final String SIGNATURE = "SHA256withECDSA";

  private final PrivateKey key;
  private final X509Certificate certificate;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  private LocalCa(PrivateKey key, X509Certificate certificate, Clock clock) {
    this.key = key;
    this.certificate = certificate;
    this.clock = clock;
  }

  /**
   * The CA kept in {@code dir}, made there (for names under {@code zone}) if it holds none yet.
   * Two processes asking at once get the same CA: creation holds a lock file.
   */
  public static LocalCa loadOrCreate(Path dir, String zone, Clock clock) throws IOException {
    Files.createDirectories(dir);
    try (FileChannel lock = FileChannel.open(dir.resolve("ca.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        var held = lock.lock()) {
      Path keyFile = dir.resolve(KEY_FILE);
      Path certFile = dir.resolve(CERT_FILE);
      // The certificate is written last: without it, an earlier creation did not finish.
      if (Files.exists(certFile) && Files.exists(keyFile)) {
        return new LocalCa(Pem.privateKey(Files.readString(keyFile), keyFile.toString()),
            Pem.certificate(Files.readString(certFile), certFile.toString()), clock);
      }
      LocalCa made = create(zone, clock);
      writeAtomically(keyFile, Pem.of(made.key), true);
      writeAtomically(certFile, Pem.of(made.certificate), false);
      return made;
    }
  }

  private static void writeAtomically(Path file, String text, boolean secret) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".new");
    Files.deleteIfExists(temporary);
    // Created with its mode: a key is never readable by others, not even for a moment.
    Files.createFile(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
    Files.writeString(temporary, text, StandardCharsets.US_ASCII);
    Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** A new CA in memory only (tests, benchmarks). */
  public static LocalCa create(String zone, Clock clock) {
    try {
      KeyPair pair = newKeyPair();
      Instant now = clock.instant();
      X500Name subject = new X500Name("CN=boxd local CA for " + zone + ", O=boxd");
      var builder = new JcaX509v3CertificateBuilder(subject, serial(new SecureRandom()), Date.from(now.minus(BACKDATE)),
          Date.from(now.plus(CA_VALIDITY)), subject, pair.getPublic());
      var extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
      builder.addExtension(Extension.nameConstraints, true, new NameConstraints(
          new GeneralSubtree[] {new GeneralSubtree(new GeneralName(GeneralName.dNSName, zone))}, null));
      X509Certificate certificate = sign(builder, pair.getPrivate());
      return new LocalCa(pair.getPrivate(), certificate, clock);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot make a CA", e);
    }
  }

  /** A fresh key and a leaf certificate for {@code dnsName}, valid for {@link #LEAF_VALIDITY}. */
  public CertifiedKey issue(String dnsName) {
    try {
      KeyPair pair = newKeyPair();
      Instant now = clock.instant();
      var builder = new JcaX509v3CertificateBuilder(certificate, serial(random), Date.from(now.minus(BACKDATE)),
          Date.from(now.plus(LEAF_VALIDITY)), new X500Name("CN=" + dnsName), pair.getPublic());
      var extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
      builder.addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
      builder.addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(certificate));
      return new CertifiedKey(pair.getPrivate(), List.of(sign(builder, key), certificate));
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue a certificate for " + dnsName, e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** The CA certificate as PEM: what clients add to their trust stores. */
  public String certificatePem() {
    return Pem.of(certificate);
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(127, random).add(BigInteger.ONE); // positive, at most 16 bytes
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }
}
