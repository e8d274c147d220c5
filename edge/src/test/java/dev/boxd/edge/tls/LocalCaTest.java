package dev.boxd.edge.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalCaTest {
  @TempDir
  Path dir;

  @Test
  void isMadeOnceAndKeptWithAPrivateKey() throws Exception {
    LocalCa first = LocalCa.loadOrCreate(dir, "localhost", Clock.systemUTC());
    LocalCa again = LocalCa.loadOrCreate(dir, "localhost", Clock.systemUTC());
    assertThat(again.certificate()).isEqualTo(first.certificate());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(LocalCa.KEY_FILE)))).isEqualTo("rw-------");
    assertThat(Files.readString(dir.resolve(LocalCa.KEY_FILE))).startsWith("-----BEGIN PRIVATE KEY-----"); // PKCS#8, as Netty wants
    assertThat(first.certificatePem()).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(first.certificate().getBasicConstraints()).isZero(); // a CA, signing leaves only
  }

  @Test
  void leavesChainToTheCaWithWhatBrowsersAsk() throws Exception {
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    CertifiedKey leaf = ca.issue("app.localhost");
    X509Certificate cert = leaf.leaf();
    validate(ca, cert);
    assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(2, "app.localhost"));
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth
    assertThat(cert.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(cert.getBasicConstraints()).isEqualTo(-1);
    Duration validity = Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
    assertThat(validity).isLessThan(Duration.ofDays(398));
    assertThat(leaf.chain()).hasSize(2).last().isEqualTo(ca.certificate());
  }

  @Test
  void theNameConstraintKeepsItToTheZone() throws Exception {
    // The JDK does not apply a trust anchor's name constraints; OpenSSL (as browsers) does.
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    Path caPem = Files.writeString(dir.resolve("ca.pem"), ca.certificatePem());
    assertThat(opensslVerify(caPem, Files.writeString(dir.resolve("ok.pem"), Pem.of(ca.issue("app.localhost").leaf())))).contains(": OK");
    assertThat(opensslVerify(caPem, Files.writeString(dir.resolve("bank.pem"), Pem.of(ca.issue("bank.example.com").leaf()))))
        .contains("permitted subtree violation");
  }

  private static String opensslVerify(Path ca, Path leaf) throws Exception {
    Process verify = new ProcessBuilder("openssl", "verify", "-CAfile", ca.toString(), leaf.toString()).redirectErrorStream(true).start();
    String out = new String(verify.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    verify.waitFor();
    return out;
  }

  @Test
  void aSourceIssuesOnlyServedNamesAndKeepsThem() {
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    var source = new LocalCaSource(ca, name -> name.endsWith(".localhost"), Clock.systemUTC());
    CertifiedKey first = source.certificateFor("app.localhost").orElseThrow();
    assertThat(source.certificateFor("app.localhost")).containsSame(first);
    assertThat(source.certificateFor("api.app.localhost").orElseThrow()).isNotSameAs(first);
    assertThat(source.certificateFor("example.com")).isEmpty();
    assertThat(source.certificateFor(null)).isEmpty();
  }

  private static void validate(LocalCa ca, X509Certificate leaf) throws Exception {
    var path = CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf));
    var params = new PKIXParameters(Set.of(new TrustAnchor(ca.certificate(), null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(path, params);
  }
}
