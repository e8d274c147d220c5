package dev.boxd.edge.acme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.boxd.testkit.FreePorts;
import dev.boxd.testkit.Pebble;
import org.shredzone.acme4j.exception.AcmeException;

/**
 * The ACME client against Debian's {@code pebble} (an ACME test CA that really validates), with
 * DNS-01 answered by {@code pebble-challtestsrv}, a real DNS server whose records the test sets
 * through its management API. (The server test does the same with our own DNS role.)
 */
class AcmeIssuerTest {
  private static final String ZONE = "boxd.test";

  @TempDir
  Path dir;

  private Process challtestsrv;
  private Pebble pebble;
  private int challengePort;
  private SSLContext trust;

  @BeforeEach
  void startPebble() throws Exception {
    assertThat(Path.of("/usr/bin/pebble-challtestsrv")).as("pebble-challtestsrv (Debian package pebble; scripts/install-deps.sh installs it)")
        .isExecutable();
    int dnsPort = FreePorts.udpAndTcp();
    challengePort = FreePorts.tcp();
    challtestsrv = new ProcessBuilder("pebble-challtestsrv", "-dns01", "127.0.0.1:" + dnsPort, "-management", "127.0.0.1:" + challengePort,
        "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv6", "").redirectErrorStream(true)
        .redirectOutput(dir.resolve("challtestsrv.log").toFile()).start();
    pebble = Pebble.start(dnsPort);
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> listening(challengePort));
    trust = AcmeIssuer.trusting(pebble.tlsCertificate());
  }

  @AfterEach
  void stop() throws Exception {
    if (pebble != null) {
      pebble.close();
    }
    if (challtestsrv != null) {
      challtestsrv.destroy();
      if (!challtestsrv.waitFor(5, TimeUnit.SECONDS)) {
        challtestsrv.destroyForcibly().waitFor();
      }
    }
  }

  @Test
  void aWildcardCertificateForTheZoneIsIssuedThroughDns01AndTheRecordsAreWithdrawn() throws Exception {
    var published = new ArrayList<String>();
    var withdrawn = new ArrayList<String>();
    ChallengeRecords records = new ChallengeRecords() {
      @Override
      public void publish(String name, List<String> values) {
        published.add(name);
        values.forEach(v -> challtestsrv("set-txt", "{\"host\":\"" + name + ".\",\"value\":\"" + v + "\"}"));
      }

      @Override
      public void withdraw(String name) {
        withdrawn.add(name);
        challtestsrv("clear-txt", "{\"host\":\"" + name + ".\"}");
      }
    };
    var key = AccountKey.loadOrCreate(dir.resolve("acme/account.pem"));
    assertThat(Files.getPosixFilePermissions(dir.resolve("acme/account.pem"))).containsExactlyInAnyOrder(
        PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    assertThat(AccountKey.loadOrCreate(dir.resolve("acme/account.pem")).getPublic()).isEqualTo(key.getPublic());

    var issuer = new AcmeIssuer(URI.create(pebble.directory()), Optional.of(trust), key,
        Optional.of("ops@boxd.test"), Duration.ofSeconds(60));
    IssuedCertificate issued = issuer.issue(ZONE, records);

    assertThat(published).containsExactly("_acme-challenge." + ZONE);
    assertThat(withdrawn).containsExactly("_acme-challenge." + ZONE);
    assertThat(issued.keyPem()).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(issued.notAfter()).isAfter(Instant.now().plus(Duration.ofDays(1)));
    var chain = CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(issued.chainPem().getBytes(StandardCharsets.US_ASCII))).stream()
        .map(X509Certificate.class::cast).toList();
    X509Certificate leaf = chain.getFirst();
    assertThat(leaf.getSubjectAlternativeNames().stream().map(san -> (Object) san.get(1)).toList()).containsExactlyInAnyOrder(ZONE, "*." + ZONE);
    // The chain leads to pebble's root, which pebble hands out on its management port.
    X509Certificate root = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pebble.issuingRoot().getBytes(StandardCharsets.US_ASCII)));
    var params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
  }

  @Test
  void anAnswerTheDnsDoesNotServeIsRefusedWithTheServersReason() throws Exception {
    ChallengeRecords nowhere = new ChallengeRecords() {
      @Override
      public void publish(String name, List<String> values) {}

      @Override
      public void withdraw(String name) {}
    };
    var issuer = new AcmeIssuer(URI.create(pebble.directory()), Optional.of(trust),
        AccountKey.loadOrCreate(dir.resolve("account.pem")), Optional.empty(), Duration.ofSeconds(60));
    assertThatThrownBy(() -> issuer.issue(ZONE, nowhere)).isInstanceOf(AcmeException.class)
        .hasMessageContaining("did not accept the DNS-01 answer at _acme-challenge." + ZONE);
  }

  @Test
  void anUntrustedAcmeServerIsRefused() throws Exception {
    var issuer = new AcmeIssuer(URI.create(pebble.directory()), Optional.empty(),
        AccountKey.loadOrCreate(dir.resolve("account.pem")), Optional.empty(), Duration.ofSeconds(10));
    assertThatThrownBy(() -> issuer.issue(ZONE, null)).isInstanceOf(AcmeException.class)
        .hasMessageContaining(pebble.directory()).hasMessageContaining("--acme-ca-file");
  }

  private void challtestsrv(String path, String body) {
    try {
      var response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + challengePort + "/" + path))
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as("challtestsrv %s", path).isEqualTo(200);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

}
