package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.net.NetworkConfig;
import dev.boxd.net.NetworkNamespace;
import dev.boxd.testkit.TestNetworks;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Identity, anti-spoofing, owner isolation and NAT on one host. The "internet" is a namespace
 * this test makes, joined to the VM namespace by the worker's uplink.
 */
class NetworkIsolationTest {
  static final NetworkNamespace outside = new NetworkNamespace(TestNetworks.uniqueName("bxo"));
  static final String OUTSIDE_ADDRESS = "172.30.0.1";

  static final TinyDnsServer upstreamDns = TinyDnsServer.start("192.0.2.44");

  static {
    outside.create();
  }

  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture(
      Optional.of(new NetworkConfig.Uplink(Optional.of(outside.name()), "up-peer", "172.30.0.0/30")), List.of(upstreamDns.address()));

  static VmInfo alice1;
  static VmInfo alice2;
  static VmInfo bob;

  @BeforeAll
  static void createVms() {
    alice1 = fixture.create("alice");
    alice2 = fixture.create("alice");
    bob = fixture.create("bob");
  }

  @AfterAll
  static void removeOutside() {
    outside.delete();
    upstreamDns.close();
  }

  @Test
  void guestDnsIsAnsweredThroughTheGateway() {
    ExecResult lookup = capture(alice1, "grep ^nameserver /etc/resolv.conf; getent hosts app.example.test");
    String gateway = fixture.config().network().subnet().gateway().toString();
    assertThat(lookup.stdoutText()).isEqualTo("nameserver " + gateway + "\n192.0.2.44      app.example.test\n");
    assertThat(upstreamDns.queries()).isPositive();
  }

  static ExecResult capture(VmInfo vm, String command) {
    return fixture.run(vm, command);
  }

  static String identity(VmInfo vm) {
    return capture(vm, "cat /sys/class/net/eth0/address; ip -4 -o addr show dev eth0 | awk '{print $4}'; hostname; cat /etc/machine-id; "
        + "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub").orThrow("identity").stdoutText();
  }

  @Test
  void everyVmHasItsOwnIdentity() {
    List<String> a = identity(alice1).lines().toList();
    List<String> b = identity(bob).lines().toList();
    assertThat(a).hasSize(5);
    assertThat(b).hasSize(5);
    assertThat(a.get(0)).isEqualTo(alice1.mac());
    assertThat(a.get(1)).startsWith(alice1.ip() + "/");
    assertThat(a.get(2)).isEqualTo(alice1.name());
    assertThat(b.get(0)).isEqualTo(bob.mac());
    for (int i = 0; i < 5; i++) {
      assertThat(a.get(i)).as("identity line %d", i).isNotEqualTo(b.get(i));
    }
  }

  @Test
  void sameOwnerReachesEachOtherOtherOwnersDoNot() {
    assertThat(capture(alice1, "ping -c 1 -W 3 " + alice2.ip()).exitCode()).isZero();
    long before = fixture.runtime().network().isolatedPackets(dev.boxd.net.VmNic.of(alice1.ip(), "alice"));
    assertThat(capture(alice1, "ping -c 2 -W 2 " + bob.ip()).exitCode()).isNotZero();
    assertThat(capture(bob, "ping -c 2 -W 2 " + alice1.ip()).exitCode()).isNotZero();
    assertThat(fixture.runtime().network().isolatedPackets(dev.boxd.net.VmNic.of(alice1.ip(), "alice"))).isGreaterThan(before);
  }

  @Test
  void aVmThatChangesItsIpOrMacGetsNothingOut() {
    String gateway = fixture.config().network().subnet().gateway().toString();
    var nic = dev.boxd.net.VmNic.of(bob.ip(), "bob");
    assertThat(capture(bob, "ping -c 1 -W 3 " + gateway).exitCode()).as("baseline").isZero();

    String stolen = alice2.ip().toString();
    long before = fixture.runtime().network().spoofedPackets(nic);
    ExecResult ipSpoof = capture(bob, "sudo ip addr add " + stolen + "/32 dev eth0 && ping -c 2 -W 2 -I " + stolen + " " + gateway
        + "; code=$?; sudo ip addr del " + stolen + "/32 dev eth0; exit $code");
    assertThat(ipSpoof.exitCode()).isNotZero();
    long afterIp = fixture.runtime().network().spoofedPackets(nic);
    assertThat(afterIp).isGreaterThan(before);

    ExecResult macSpoof = capture(bob, "sudo ip link set eth0 address 02:00:00:00:00:99 && ping -c 2 -W 2 " + gateway
        + "; code=$?; sudo ip link set eth0 address " + bob.mac() + "; exit $code");
    assertThat(macSpoof.exitCode()).isNotZero();
    assertThat(fixture.runtime().network().spoofedPackets(nic)).isGreaterThan(afterIp);
    assertThat(capture(bob, "ping -c 1 -W 3 " + gateway).exitCode()).as("own identity works again").isZero();
  }

  @Test
  void egressIsMasqueraded() throws Exception {
    Process server = new ProcessBuilder(Stream.concat(outside.enterPrefix().stream(),
        Stream.of("--", "python3", "-u", "-m", "http.server", "8080", "--bind", OUTSIDE_ADDRESS)).toList())
        .redirectErrorStream(true).start();
    try {
      var log = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
      assertThat(log.readLine()).contains("Serving HTTP");
      ExecResult fetch = capture(alice1, "curl -s -o /dev/null -w '%{http_code}' --retry 3 --retry-connrefused http://" + OUTSIDE_ADDRESS + ":8080/");
      assertThat(fetch.stdoutText()).isEqualTo("200");
      String request = log.readLine();
      assertThat(request).as("the server sees the uplink address, not the VM's").startsWith("172.30.0.2 ").doesNotContain(alice1.ip().toString());
    } finally {
      server.destroyForcibly().waitFor();
    }
  }
}
