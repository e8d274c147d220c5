package dev.boxd.edge.acme;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNetworkException;
import org.shredzone.acme4j.util.KeyPairUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Obtains one certificate for a domain and every name one level under it ({@code domain} and
 * {@code *.domain}: the zone, or a VM's name in it) from an ACME server, proving control with
 * DNS-01: the challenge answers are published as TXT records of {@code _acme-challenge.domain} by
 * our own DNS role, and withdrawn again whatever happens.
 */
public final class AcmeIssuer {
  private static final Logger log = LoggerFactory.getLogger(AcmeIssuer.class);

  static {
    if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
      Security.addProvider(new BouncyCastleProvider()); // acme4j signs and builds the CSR with it
    }
  }

  private final URI directory;
  private final Optional<SSLContext> trust;
  private final KeyPair accountKey;
  private final Optional<String> email;
  private final Duration timeout;

  /**
   * @param directory the ACME directory URL (e.g. {@code https://acme-v02.api.letsencrypt.org/directory})
   * @param trust a CA to trust for the ACME server's own HTTPS, when it is not one the JVM trusts
   * @param accountKey the key of our account with that server (made once, kept: {@link AccountKey})
   * @param timeout how long each wait on the server (validation, issuance) may take
   */
  public AcmeIssuer(URI directory, Optional<SSLContext> trust, KeyPair accountKey, Optional<String> email, Duration timeout) {
    this.directory = directory;
    this.trust = trust;
    this.accountKey = accountKey;
    this.email = email;
    this.timeout = timeout;
  }

  /** An SSL context that trusts only the CA certificates in {@code pemFile}. */
  public static SSLContext trusting(Path pemFile) throws IOException {
    try (var in = Files.newInputStream(pemFile)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, cert);
      }
      if (i == 0) {
        throw new IOException("no certificate in " + pemFile + ": give a PEM file of the ACME server's CA");
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot read the CA certificates in " + pemFile + ": " + e.getMessage(), e);
    }
  }

  /** Orders, proves and downloads the certificate of {@code zone} and {@code *.zone}. */
  public IssuedCertificate issue(String zone, ChallengeRecords records) throws AcmeException, InterruptedException {
    try {
      return order(zone, records);
    } catch (AcmeNetworkException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      String hint = cause instanceof javax.net.ssl.SSLException
          ? " (its certificate is not trusted: give the CA that signed it with --acme-ca-file)"
          : "";
      throw new AcmeException("cannot reach the ACME server at " + directory + ": " + cause.getMessage() + hint);
    }
  }

  private IssuedCertificate order(String zone, ChallengeRecords records) throws AcmeException, InterruptedException {
    Session session = trust.map(t -> new Session(directory, new TrustingAcmeProvider(t))).orElseGet(() -> new Session(directory));
    AccountBuilder builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
    email.ifPresent(builder::addEmail);
    Account account = builder.create(session);
    Order order = account.newOrder().domains(zone, "*." + zone).create();

    String recordName = Dns01Challenge.RECORD_NAME_PREFIX + "." + zone;
    List<Dns01Challenge> challenges = new ArrayList<>();
    for (Authorization authorization : order.getAuthorizations()) {
      if (authorization.getStatus() == Status.VALID) {
        continue; // proved recently: the server remembers
      }
      challenges.add(authorization.findChallenge(Dns01Challenge.class).orElseThrow(() -> new AcmeException(
          "the ACME server at " + directory + " offers no dns-01 challenge for " + authorization.getIdentifier().getDomain()
              + ": a wildcard certificate can only be proved through DNS")));
    }
    records.publish(recordName, challenges.stream().map(Dns01Challenge::getDigest).distinct().toList());
    try {
      for (Dns01Challenge challenge : challenges) {
        challenge.trigger();
      }
      for (Dns01Challenge challenge : challenges) {
        Status status = challenge.waitForCompletion(timeout);
        if (status != Status.VALID) {
          throw new AcmeException("the ACME server did not accept the DNS-01 answer at " + recordName + " (" + status + "): "
              + challenge.getError().map(Object::toString).orElse("no reason given"));
        }
      }
    } finally {
      records.withdraw(recordName);
    }

    KeyPair certificateKey = KeyPairUtils.createECKeyPair("secp256r1");
    order.waitUntilReady(timeout);
    order.execute(certificateKey);
    Status status = order.waitForCompletion(timeout);
    if (status != Status.VALID) {
      throw new AcmeException("the ACME order for " + zone + " ended " + status + ": " + order.getError().map(Object::toString).orElse("no reason given"));
    }
    var certificate = order.getCertificate();
    StringWriter chain = new StringWriter();
    try {
      certificate.writeCertificate(chain);
    } catch (IOException e) {
      throw new AcmeException("cannot write the certificate chain: " + e.getMessage());
    }
    X509Certificate leaf = certificate.getCertificate();
    log.info("ACME: certificate for {} and *.{} issued, valid until {}", zone, zone, leaf.getNotAfter().toInstant());
    return new IssuedCertificate(chain.toString(), pkcs8(certificateKey), leaf.getNotAfter().toInstant());
  }

  private static String pkcs8(KeyPair key) throws AcmeException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(new JcaPKCS8Generator(key.getPrivate(), null));
    } catch (IOException e) {
      throw new AcmeException("cannot write the certificate's key: " + e.getMessage());
    }
    return out.toString();
  }
}
