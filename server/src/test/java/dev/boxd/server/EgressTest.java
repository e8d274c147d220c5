package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.exec;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A VM of a real server reaches the internet through the host, as the host does: the Debian
 * mirror this host's apt uses (by name, resolved through the gateway's relay), and apt itself;
 * the bytes are counted in {@code info}, and the counts outlive a server restart. It reaches no
 * service of the host, on the uplink's address or on the host's own.
 */
class EgressTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer();
  static SshUser alice;

  @BeforeAll
  static void aVm() throws Exception {
    alice = live.user("alice");
    SshUser.Run made = alice.run("new", "--name=out", "--json");
    assertThat(made.exit()).as("new: %s%s\n=== server log ===\n%s", made.out(), made.err(), live.server().log()).isZero();
  }

  @Test
  void aVmFetchesFromTheHostsDebianMirrorAndRunsAptAndTheBytesAreCounted() throws Exception {
    JsonNode before = json(alice.run("info", "out", "--json"));
    assertThat(before.has("egress_bytes")).as("info of a running VM: %s", before).isTrue();

    String release = debianMirror() + "/dists/bookworm/Release";
    assertThat(exec(alice, "out", "curl -sSf --retry 2 --max-time 60 -o /dev/null -w '%{http_code}' " + release)).isEqualTo("200");
    SshUser.Run update = alice.run("exec", "out", "--timeout=600", "--", "sudo apt-get update 2>&1");
    assertThat(update.exit()).as("apt-get update in the VM:\n%s%s", update.out(), update.err()).isZero();

    JsonNode after = json(alice.run("info", "out", "--json"));
    assertThat(after.path("egress_bytes").asLong()).isGreaterThan(before.path("egress_bytes").asLong());
    // The Release file alone is some 150 KB; apt fetched it again and more.
    assertThat(after.path("ingress_bytes").asLong()).isGreaterThan(before.path("ingress_bytes").asLong() + 200_000);
    assertThat(alice.run("info", "out").out()).containsPattern("internet: +\\d+ bytes out, \\d+ bytes in");

    live.server().kill9();
    live.server().start();
    JsonNode restarted = json(alice.run("info", "out", "--json"));
    assertThat(restarted.path("ingress_bytes").asLong()).as("counted in the VM namespace, which outlives the server")
        .isGreaterThanOrEqualTo(after.path("ingress_bytes").asLong());
    assertThat(exec(alice, "out", "curl -sSf --retry 2 --max-time 60 -o /dev/null -w '%{http_code}' " + release))
        .as("egress after a restart that found the link it had made").isEqualTo("200");

    // What apt installs through the NAT is on the VM's disk: it survives a reboot (memory lost, disk kept).
    SshUser.Run install = alice.run("exec", "out", "--timeout=600", "--", "sudo apt-get install -y -q hello 2>&1");
    assertThat(install.exit()).as("apt-get install in the VM:\n%s%s", install.out(), install.err()).isZero();
    String bootBefore = exec(alice, "out", "cat /proc/sys/kernel/random/boot_id");
    json(alice.run("reboot", "out", "--json"));
    assertThat(exec(alice, "out", "cat /proc/sys/kernel/random/boot_id")).as("a new boot").isNotEqualTo(bootBefore);
    assertThat(exec(alice, "out", "hello")).isEqualTo("Hello, world!");
  }

  @Test
  void aVmReachesNoServiceOfTheHostNeitherOnTheUplinksAddressNorOnTheHostsOwn() throws Exception {
    String uplinkEnd = Ipv4Subnet.parse(live.server().egressNet).gateway().toString();
    String hostAddress = routeSource();
    try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("0.0.0.0", 0))) {
      int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
      for (String address : new String[] {uplinkEnd, hostAddress}) {
        SshUser.Run tried = alice.run("exec", "out", "--", "timeout 5 bash -c 'exec 3<>/dev/tcp/" + address + "/" + port
            + "' && echo connected || echo refused");
        assertThat(tried.out()).as("a connection from the VM to %s:%d on the host", address, port).isEqualTo("refused\n");
      }
      listener.configureBlocking(false);
      try (SocketChannel accepted = listener.accept()) {
        assertThat(accepted).as("what the host's listener accepted").isNull();
      }
    }
  }

  /** The mirror of {@code bookworm main} in this host's apt sources, as the image recipe finds it. */
  static String debianMirror() throws Exception {
    String listed = host("apt-get", "indextargets", "--no-release-info", "--format", "$(REPO_URI) $(RELEASE)", "Identifier: Packages",
        "Component: main", "Architecture: amd64");
    return listed.lines().map(l -> l.split(" ")).filter(f -> f.length == 2 && f[1].equals("bookworm")).map(f -> f[0])
        .findFirst().map(uri -> uri.replaceAll("/+$", "")).orElseThrow(() -> new AssertionError("no bookworm main source in: " + listed));
  }

  /** The host's own address toward the internet (the source of its default route). */
  static String routeSource() throws Exception {
    String route = host("ip", "-4", "-o", "route", "get", "192.0.2.200");
    var m = java.util.regex.Pattern.compile(" src (\\S+)").matcher(route);
    assertThat(m.find()).as("a source address in: %s", route).isTrue();
    return m.group(1);
  }

  private static String host(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("%s: %s", String.join(" ", argv), out).isZero();
    return out;
  }
}
