package dev.boxd.api.grpc;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A CA made in memory for a test, and the server certificates it signs. */
final class TestCa {
  private static final AtomicLong SERIALS = new AtomicLong(1);
  final KeyPair keys;
  final X509Certificate certificate;

  TestCa() throws Exception {
    keys = ecKeys();
    X500Name name = new X500Name("CN=boxd test CA");
    var builder = new JcaX509v3CertificateBuilder(name, serial(), Date.from(Instant.now().minus(Duration.ofHours(1))),
        Date.from(Instant.now().plus(Duration.ofDays(1))), name, keys.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    certificate = sign(builder, keys.getPrivate());
  }

  /** A server certificate for {@code dnsName}, chain leaf first. */
  ServerCertificates.Certified issue(String dnsName) throws Exception {
    KeyPair leaf = ecKeys();
    var builder = new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(Instant.now().minus(Duration.ofHours(1))),
        Date.from(Instant.now().plus(Duration.ofDays(1))), new X500Name("CN=" + dnsName), leaf.getPublic());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
    return new ServerCertificates.Certified(leaf.getPrivate(), List.of(sign(builder, keys.getPrivate()), certificate));
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIALS.getAndIncrement());
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder builder, PrivateKey signer) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
  }
}
