package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a VM is reached from outside, as users do it over SSH against a real server and a real VM:
 * HTTPS routes (proxy), raw TCP and UDP forwards (expose) carried to servers in the guest, and
 * direct SSH through the VM's own port with OpenSSH. One VM for the class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EdgeTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer();
  static SshUser alice;
  static SshUser bob;
  static JsonNode app;

  private static final String TCP_ECHO = """
      import socketserver
      class Echo(socketserver.StreamRequestHandler):
          def handle(self):
              self.wfile.write(b"echo " + self.rfile.readline())
      socketserver.ThreadingTCPServer.allow_reuse_address = True
      socketserver.ThreadingTCPServer(("", 5000), Echo).serve_forever()
      """;
  private static final String UDP_ECHO = """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      s.bind(("", 5001))
      while True:
          data, peer = s.recvfrom(65535)
          s.sendto(b"echo " + data, peer)
      """;

  @BeforeAll
  static void vm() throws Exception {
    alice = live.user("alice");
    bob = live.user("bob");
    app = json(alice.run("new", "--name=app", "--auto-suspend-timeout=0", "--json"));
  }

  @Test
  @Order(1)
  void setPortAutoFindsTheServerTheGuestStarted() throws Exception {
    SshUser.Run nothing = alice.run("proxy", "set-port", "--port=auto", "--vm=app");
    assertThat(nothing.exit()).isEqualTo(5);
    assertThat(nothing.err()).contains("nothing listens on a TCP port in VM app");

    background("python3 -m http.server 3000");
    Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
      SshUser.Run auto = alice.run("proxy", "set-port", "--port=auto", "--vm=app", "--json");
      assertThat(auto.exit()).as(auto.err()).isZero();
      assertThat(json(auto).toString()).isEqualTo("{\"name\":\"default\",\"vm\":\"app\",\"domain\":\"app.localhost\",\"port\":3000}");
    });
    assertThat(json(alice.run("proxy", "set-port", "--port=8000", "--vm=app", "--json")).path("port").asInt()).isEqualTo(8000);
  }

  @Test
  @Order(2)
  void proxyRoutesAreMadeListedMovedAndDeletedOverSsh() throws Exception {
    assertThat(json(alice.run("proxy", "new", "web", "--port=3000", "--vm=app", "--json")).toString())
        .isEqualTo("{\"name\":\"web\",\"vm\":\"app\",\"domain\":\"web.app.localhost\",\"port\":3000}");
    assertThat(routes()).containsExactly("default app.localhost 8000", "web web.app.localhost 3000");

    assertThat(json(alice.run("proxy", "set-port", "web", "--port", "3001", "--vm=app", "--json")).path("port").asInt()).isEqualTo(3001);
    assertThat(json(alice.run("proxy", "set-port", "--port=9000", "--vm=app", "--json")).path("domain").asText()).isEqualTo("app.localhost");
    assertThat(routes()).containsExactly("default app.localhost 9000", "web web.app.localhost 3001");

    // Another account's VM: not found, and nothing changes.
    SshUser.Run stranger = bob.run("proxy", "new", "evil", "--port=80", "--vm=app");
    assertThat(stranger.exit()).isEqualTo(3);
    assertThat(stranger.err()).contains("no VM named \"app\"");
    assertThat(bob.run("proxy", "delete", "web", "--vm=app").exit()).isEqualTo(3);
    assertThat(bob.run("proxy", "set-port", "--port=1", "--vm=app").exit()).isEqualTo(3);
    assertThat(json(bob.run("proxy", "list", "--json"))).isEmpty();

    // Bad input: a clear error each, and nothing left behind.
    expectError(alice.run("proxy", "new", "Bad_Sub", "--port=80", "--vm=app"), 2, "invalid route name \"Bad_Sub\"");
    expectError(alice.run("proxy", "new", "a.b", "--port=80", "--vm=app"), 2, "invalid route name \"a.b\"");
    expectError(alice.run("proxy", "new", "default", "--port=80", "--vm=app"), 2, "every VM has the route \"default\"");
    expectError(alice.run("proxy", "new", "api", "--port=0", "--vm=app"), 2, "invalid --port \"0\"");
    expectError(alice.run("proxy", "new", "api", "--port=65536", "--vm=app"), 2, "invalid --port \"65536\"");
    expectError(alice.run("proxy", "new", "api", "--port=abc", "--vm=app"), 2, "invalid --port \"abc\"");
    expectError(alice.run("proxy", "new", "api", "--port=80"), 2, "missing --vm=NAME");
    expectError(alice.run("proxy", "new", "web", "--port=80", "--vm=app"), 4, "has a route named \"web\" already");
    expectError(alice.run("proxy", "delete", "nope", "--vm=app"), 3, "has no route named \"nope\"");
    assertThat(routes()).containsExactly("default app.localhost 9000", "web web.app.localhost 3001");

    // Inside the VM the in-VM CLI needs no --vm: the route is the calling VM's.
    SshUser.Run inside = alice.run("exec", "app", "--", "boxd proxy new inside --port=4000 --json && boxd proxy list --json");
    assertThat(inside.exit()).as(inside.err()).isZero();
    assertThat(inside.out()).contains("{\"name\":\"inside\",\"vm\":\"app\",\"domain\":\"inside.app.localhost\",\"port\":4000}");
    assertThat(routes()).contains("inside inside.app.localhost 4000");
    assertThat(alice.run("exec", "app", "--", "boxd proxy delete inside").exit()).isZero();

    assertThat(alice.run("proxy", "rm", "web", "--vm=app").exit()).isZero();
    assertThat(alice.run("proxy", "set-port", "--port=8000", "--vm=app").exit()).isZero();
    assertThat(routes()).containsExactly("default app.localhost 8000");
  }

  @Test
  @Order(3)
  void exposedTcpAndUdpReachTheGuestAndKeepTheirPortsAcrossARestart() throws Exception {
    upload("tcp_echo.py", TCP_ECHO);
    upload("udp_echo.py", UDP_ECHO);
    background("python3 tcp_echo.py");
    background("python3 udp_echo.py");

    JsonNode tcp = json(alice.run("expose", "app", "5000", "--json"));
    assertThat(tcp.path("vm_id").asText()).isEqualTo(app.path("vm_id").asText());
    assertThat(tcp.path("vm_port").asInt()).isEqualTo(5000);
    assertThat(tcp.path("protocol").asText()).isEqualTo("tcp");
    assertThat(tcp.path("host").asText()).isEqualTo(live.server().edgeAddress);
    assertThat(tcp.path("dns").asText()).isEqualTo("app.localhost");
    int tcpPort = tcp.path("public_port").asInt();
    assertThat(tcpPort).isBetween(40000, 60000);
    JsonNode udp = json(alice.run("expose", "app", "5001", "--udp", "--json"));
    int udpPort = udp.path("public_port").asInt();
    assertThat(udp.path("protocol").asText()).isEqualTo("udp");
    assertThat(json(alice.run("expose", "app", "5000", "--json")).path("public_port").asInt()).as("exposing again keeps the port")
        .isEqualTo(tcpPort);

    awaitTcpEcho(tcpPort);
    awaitUdpEcho(udpPort);

    // A third is allowed, a fourth is not; another account cannot expose the VM.
    assertThat(alice.run("expose", "app", "22").exit()).isZero();
    expectError(alice.run("expose", "app", "80"), 6, "has 3 ports exposed");
    expectError(bob.run("expose", "app", "80"), 3, "no VM named \"app\"");
    expectError(alice.run("expose", "app", "0"), 2, "invalid PORT \"0\"");
    expectError(alice.run("expose", "app", "65536"), 2, "invalid PORT \"65536\"");
    expectError(alice.run("expose", "app", "abc"), 2, "invalid PORT \"abc\"");
    assertThat(json(alice.run("expose", "--list", "--json"))).hasSize(3);

    live.server().kill9();
    live.server().start();
    assertThat(json(alice.run("expose", "app", "5000", "--json")).path("public_port").asInt()).isEqualTo(tcpPort);
    assertThat(json(alice.run("expose", "app", "5001", "--udp", "--json")).path("public_port").asInt()).isEqualTo(udpPort);
    awaitTcpEcho(tcpPort);
    awaitUdpEcho(udpPort);

    assertThat(alice.run("expose", "app", "22", "--remove").exit()).isZero();
    assertThat(json(alice.run("expose", "app", "--list", "--json"))).hasSize(2);
  }

  @Test
  @Order(4)
  void theVmsOwnSshPortLetsOpenSshInWithAPinnedHostKeyAndOnlyTheOwner(@TempDir Path tmp) throws Exception {
    JsonNode info = json(alice.run("info", "app", "--json"));
    String ssh = info.path("ssh").asText();
    assertThat(ssh).matches("ssh -p \\d+ boxd@app\\.localhost");
    int port = Integer.parseInt(ssh.split(" ")[2]);
    assertThat(port).isBetween(10000, 30000);

    JsonNode config = json(alice.run("ssh-config", "--json"));
    JsonNode host = config.path("hosts").get(0);
    assertThat(host.path("host").asText()).isEqualTo("app.localhost");
    assertThat(host.path("hostname").asText()).isEqualTo(live.server().edgeAddress);
    assertThat(host.path("port").asInt()).isEqualTo(port);
    assertThat(alice.run("ssh-config").out()).contains("Host app.localhost\n").contains("  Port " + port + "\n").contains("  User boxd\n");

    Path knownHosts = tmp.resolve("known_hosts");
    Files.writeString(knownHosts, "[" + live.server().edgeAddress + "]:" + port + " " + config.path("host_key").asText() + "\n");
    SshUser.Run in = SshUser.run(sshTo(alice, port, knownHosts, "hostname; id -un"), InputStream.nullInputStream(),
        SshUser.OutputStreamSink.capture());
    assertThat(in.exit()).as(in.err()).isZero();
    assertThat(in.out()).isEqualTo("app\nboxd\n");

    SshUser.Run refused = SshUser.run(sshTo(bob, port, knownHosts, "true"), InputStream.nullInputStream(),
        SshUser.OutputStreamSink.capture());
    assertThat(refused.exit()).isEqualTo(255);
    assertThat(refused.err()).contains("Permission denied (publickey)");
  }

  private static List<String> sshTo(SshUser user, int port, Path knownHosts, String command) {
    return new ArrayList<>(List.of("ssh", "-p", Integer.toString(port), "-i", user.key.toString(), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts,
        "boxd@" + live.server().edgeAddress, command));
  }

  private static List<String> routes() throws Exception {
    List<String> out = new ArrayList<>();
    json(alice.run("proxy", "list", "--vm=app", "--json"))
        .forEach(r -> out.add(r.path("name").asText() + " " + r.path("domain").asText() + " " + r.path("port").asInt()));
    return out;
  }

  private static void expectError(SshUser.Run run, int exit, String message) {
    assertThat(run.exit()).as("stderr: %s", run.err()).isEqualTo(exit);
    assertThat(run.err()).contains(message);
  }

  private static void upload(String path, String content) throws Exception {
    SshUser.Run copied = alice.run(content.getBytes(StandardCharsets.UTF_8), "cp", "-", "app:" + path);
    assertThat(copied.exit()).as(copied.err()).isZero();
  }

  private static void background(String command) throws Exception {
    SshUser.Run started = alice.run("exec", "app", "--", "setsid nohup " + command + " >/dev/null 2>&1 </dev/null &");
    assertThat(started.exit()).as(started.err()).isZero();
  }

  private static void awaitTcpEcho(int port) {
    Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress(live.server().edgeAddress, port), 5000);
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write("hello tcp\n".getBytes(StandardCharsets.UTF_8));
        String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(reply).isEqualTo("echo hello tcp\n");
      }
    });
  }

  private static void awaitUdpEcho(int port) {
    Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
      try (var socket = new DatagramSocket()) {
        socket.setSoTimeout(3000);
        byte[] hello = "hello udp".getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(hello, hello.length, new InetSocketAddress(live.server().edgeAddress, port)));
        var reply = new DatagramPacket(new byte[100], 100);
        socket.receive(reply);
        assertThat(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8)).isEqualTo("echo hello udp");
      } catch (IOException e) {
        throw new AssertionError("no UDP echo yet: " + e.getMessage(), e);
      }
    });
  }
}
