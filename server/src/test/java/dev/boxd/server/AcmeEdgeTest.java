package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.exec;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.testkit.Pebble;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Production certificates, end to end with real parts: Debian's {@code pebble} (an ACME CA that
 * really validates) asks the server's own dns role for the DNS-01 answers the server wrote to the
 * log, issues the zone's wildcard certificate, and the edge serves it: curl trusting only pebble's
 * root reaches a VM at {@code https://NAME.<zone>}, and, once the VM has a proxy of its own, at
 * {@code https://SUB.NAME.<zone>} through the certificate of {@code *.NAME.<zone>}.
 */
class AcmeEdgeTest {
  // Not localhost: clients refuse a wildcard one label above a top-level name (*.localhost), as they refuse *.com.
  static final String ZONE = "boxd.test";
  static Pebble pebble;

  @RegisterExtension
  static final LiveServer live = new LiveServer("--zone", ZONE).beforeStart(server -> {
    pebble = Pebble.start(server.dnsPort);
    return List.of("--acme-directory", pebble.directory(), "--acme-ca-file", pebble.tlsCertificate().toString(),
        "--acme-email", "ops@example.org");
  });

  @AfterAll
  static void stopPebble() throws Exception {
    if (pebble != null) {
      pebble.close();
    }
  }

  @Test
  void theEdgeServesTheZonesWildcardCertificateFromTheAcmeCa() throws Exception {
    SshUser alice = live.user("alice");
    json(alice.run("new", "--name=site", "--auto-suspend-timeout=0", "--json"));
    exec(alice, "site", "mkdir -p s && echo served-under-acme > s/index.html"
        + " && (setsid nohup python3 -m http.server 8000 --directory s >/dev/null 2>&1 </dev/null &)");
    Path work = Files.createTempDirectory("boxd-acme-test-");
    try {
      Path root = Files.writeString(work.resolve("pebble-root.pem"), pebble.issuingRoot());
      Path localCa = Files.writeString(work.resolve("local-ca.pem"), live.server().caCertificate());
      int https = live.server().httpsPort;
      String host = "site." + ZONE + ":" + https;
      List<String> curl = List.of("curl", "-sS", "--max-time", "30", "--resolve", host + ":127.0.0.1", "https://" + host + "/");

      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> assertThat(
          run(concat(curl, "--cacert", root.toString())).out()).as("pebble log:\n%s", pebble.log()).isEqualTo("served-under-acme\n"));
      Run underLocalCa = run(concat(curl, "--cacert", localCa.toString()));
      assertThat(underLocalCa.exit()).as("the local CA no longer signs what the edge serves: %s", underLocalCa.out()).isEqualTo(60);

      Run txt = run(List.of("dig", "@127.0.0.1", "-p", Integer.toString(live.server().dnsPort), "+short", "TXT", "_acme-challenge." + ZONE));
      assertThat(txt.out()).as("the challenge is withdrawn once the order is done").isBlank();

      // SUB.NAME: *.zone does not cover it; a proxy of its own gets the VM name a certificate of its own
      exec(alice, "site", "mkdir -p t && echo served-under-sub > t/index.html"
          + " && (setsid nohup python3 -m http.server 8001 --directory t >/dev/null 2>&1 </dev/null &)");
      assertThat(alice.run("proxy", "new", "api", "--port=8001", "--vm=site").exit()).isZero();
      String sub = "api.site." + ZONE + ":" + https;
      List<String> curlSub = List.of("curl", "-sS", "--max-time", "30", "--resolve", sub + ":127.0.0.1", "https://" + sub + "/");
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> assertThat(
          run(concat(curlSub, "--cacert", root.toString())).out()).as("pebble log:\n%s", pebble.log()).isEqualTo("served-under-sub\n"));
      assertThat(run(concat(curlSub, "--cacert", localCa.toString())).exit()).isEqualTo(60);
      Run subTxt = run(List.of("dig", "@127.0.0.1", "-p", Integer.toString(live.server().dnsPort), "+short", "TXT", "_acme-challenge.site." + ZONE));
      assertThat(subTxt.out()).as("the challenge is withdrawn once the order is done").isBlank();
    } finally {
      try (var files = Files.walk(work)) {
        for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  record Run(int exit, String out) {
  }

  private static Run run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Run(process.waitFor(), out);
  }

  private static List<String> concat(List<String> head, String... tail) {
    var all = new java.util.ArrayList<>(head);
    all.addAll(List.of(tail));
    return all;
  }
}
