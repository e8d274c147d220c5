package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.exec;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Isolated VMs (SPEC §12) of a real server: {@code iso-box} is isolated, {@code iso-sib} and
 * {@code iso-sib2} are its owner's ordinary VMs, {@code iso-box-fork} a fork of {@code iso-box}.
 * No traffic passes between an isolated VM and any other VM, either way (TCP to sshd and ping),
 * while the ordinary pair still talk; the in-VM CLI is refused with the reason; the HTTPS URL, direct SSH and the
 * internet still work; info shows it, and the fork is isolated and blocked the same way. One
 * server and four VMs serve every case.
 */
class IsolatedVmTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;
  static Path caFile;
  static String gateway;

  @BeforeAll
  static void vms() throws Exception {
    alice = live.user("iso-alice");
    caFile = Files.writeString(Files.createTempFile("boxd-isolated-ca-", ".pem"), live.server().caCertificate());
    JsonNode box = json(alice.run("new", "--name=iso-box", "--isolated", "--auto-suspend-timeout=0", "--json"));
    assertThat(box.path("isolated").asBoolean()).as("new --json: %s", box).isTrue();
    json(alice.run("new", "--name=iso-sib", "--auto-suspend-timeout=0", "--json"));
    json(alice.run("new", "--name=iso-sib2", "--auto-suspend-timeout=0", "--json"));
    JsonNode fork = json(alice.run("fork", "iso-box", "--name=iso-box-fork", "--auto-suspend-timeout=0", "--json"));
    assertThat(fork.path("isolated").asBoolean()).as("fork --json: %s", fork).isTrue();
    gateway = exec(alice, "iso-sib", "ip route show default | awk '{print $3}'");
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (alice != null) { // the shared server outlives the class
      for (String vm : List.of("iso-box-fork", "iso-box", "iso-sib2", "iso-sib")) {
        alice.run("destroy", "-y", vm);
      }
    }
    if (caFile != null) {
      Files.deleteIfExists(caFile);
    }
  }

  private static String ip(String vm) throws Exception {
    return json(alice.run("info", vm, "--json")).path("ip").asText();
  }

  /** A TCP connection from {@code from} to sshd of {@code to}: "connected", else how it failed (124: no answer at all). */
  private static String tcp(String from, String address, int port) throws Exception {
    return alice.run("exec", from, "--", "timeout 5 bash -c 'exec 3<>/dev/tcp/" + address + "/" + port + "' 2>/dev/null"
        + " && echo connected || echo \"failed $?\"").out().strip();
  }

  private static boolean pings(String from, String address) throws Exception {
    return alice.run("exec", from, "--", "ping -c 1 -W 2 " + address + " >/dev/null && echo reached || echo unreached").out().strip()
        .equals("reached");
  }

  @Test
  void noTrafficPassesBetweenAnIsolatedVmOrItsForkAndAnyOtherVmWhileOrdinarySiblingsTalk() throws Exception {
    String sib = ip("iso-sib");
    assertThat(tcp("iso-sib2", sib, 22)).as("control: two ordinary VMs of one owner").isEqualTo("connected");
    assertThat(pings("iso-sib2", sib)).as("control: ping").isTrue();

    for (String isolated : List.of("iso-box", "iso-box-fork")) {
      String address = ip(isolated);
      assertThat(tcp(isolated, sib, 22)).as("%s to its owner's VM", isolated).isNotEqualTo("connected");
      assertThat(tcp("iso-sib", address, 22)).as("its owner's VM to %s", isolated).isNotEqualTo("connected");
      assertThat(pings(isolated, sib)).as("%s pings its owner's VM", isolated).isFalse();
      assertThat(pings("iso-sib", address)).as("its owner's VM pings %s", isolated).isFalse();
    }
    assertThat(tcp("iso-box", ip("iso-box-fork"), 22)).as("an isolated VM to its own fork").isNotEqualTo("connected");
    assertThat(tcp("iso-box-fork", ip("iso-box"), 22)).as("the fork to its source").isNotEqualTo("connected");
  }

  @Test
  void ofTheGatewaysServicesAnIsolatedVmReachesDnsOnly() throws Exception {
    // Nothing listens on port 2 of the gateway: an ordinary VM is refused at once, an isolated one hears nothing.
    assertThat(tcp("iso-sib", gateway, 2)).isEqualTo("failed 1");
    assertThat(tcp("iso-box", gateway, 2)).isEqualTo("failed 124");
    // A query straight to the gateway's relay (resolv.conf also names a resolver on the internet, which would hide a drop).
    String query = "python3 -c \"import socket, struct; q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0)"
        + " + b'\\x03deb\\x06debian\\x03org\\x00' + struct.pack('>HH', 1, 1); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
        + " s.settimeout(5); s.sendto(q, ('" + gateway + "', 53)); print('answered' if s.recv(1500)[:2] == q[:2] else 'garbled')\"";
    assertThat(exec(alice, "iso-box", query)).as("DNS through the gateway's relay").isEqualTo("answered");
  }

  @Test
  void theInVmCliIsRefusedWithTheReason() throws Exception {
    for (String isolated : List.of("iso-box", "iso-box-fork")) {
      SshUser.Run listed = alice.run("exec", isolated, "--", "boxd list");
      assertThat(listed.exit()).as("boxd list in %s: %s%s", isolated, listed.out(), listed.err())
          .isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
      assertThat(listed.err()).isEqualTo(
          "error: this VM is isolated: the boxd CLI is not available inside it; drive it from outside (ssh, the API)\n");
      assertThat(listed.out()).isEmpty();
    }
    assertThat(alice.run("exec", "iso-sib", "--", "boxd info --json").exit()).as("an ordinary VM's CLI").isZero();
  }

  @Test
  void infoAndListShowIsolatedAndItsForkIsToo() throws Exception {
    assertThat(json(alice.run("info", "iso-box", "--json")).path("isolated").isBoolean()).isTrue();
    assertThat(json(alice.run("info", "iso-box", "--json")).path("isolated").asBoolean()).isTrue();
    assertThat(json(alice.run("info", "iso-box-fork", "--json")).path("isolated").asBoolean()).isTrue();
    assertThat(json(alice.run("info", "iso-sib", "--json")).path("isolated").asBoolean()).isFalse();
    assertThat(alice.run("info", "iso-box").out()).containsPattern("isolated: +yes");
    assertThat(alice.run("list").out()).containsPattern("iso-box +running +\\S+ +\\S+ +yes").containsPattern("iso-sib +running +\\S+ +\\S+ +no");
  }

  @Test
  void itsHttpsUrlDirectSshAndTheInternetStillWork() throws Exception {
    exec(alice, "iso-box", "mkdir -p site && echo 'Hello from iso-box' > site/index.html"
        + " && (cd site && setsid nohup python3 -m http.server 8000 >/tmp/site.log 2>&1 </dev/null &)");
    int https = live.server().httpsPort;
    List<String> curl = List.of("curl", "-sS", "--max-time", "30", "--cacert", caFile.toString(), "--resolve",
        "iso-box.localhost:" + https + ":127.0.0.1", "https://iso-box.localhost:" + https + "/");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
        .until(() -> EdgeHttpsTest.run(curl).out().contains("Hello from iso-box"));

    String publicIp = json(alice.run("info", "iso-box", "--json")).path("public_ip").asText();
    SshUser.Run ssh = SshUser.run(alice.command(live.server().vmSshPort, "boxd@" + publicIp, "hostname"), InputStream.nullInputStream(),
        SshUser.OutputStreamSink.capture());
    assertThat(ssh.exit()).as("ssh into the isolated VM: %s", ssh.err()).isZero();
    assertThat(ssh.out().strip()).isEqualTo("iso-box");

    String release = EgressTest.debianMirror() + "/dists/bookworm/Release";
    assertThat(exec(alice, "iso-box", "curl -sSf --retry 2 --max-time 60 -o /dev/null -w '%{http_code}' " + release))
        .as("the internet, through the gateway's NAT").isEqualTo("200");
  }
}
