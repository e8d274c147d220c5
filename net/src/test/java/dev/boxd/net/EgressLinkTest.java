package dev.boxd.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uplink to the host: the veth pair, the host's table and what it lets through. Real
 * namespaces and the host's own nftables, no VMs: the VM namespace's own stack stands in for a VM
 * (what it cannot reach, a VM routed through it cannot either). Needs root; removes what it made.
 */
class EgressLinkTest {
  private static final long PID = ProcessHandle.current().pid();
  // A link net of its own per test process: the host is shared with other tests.
  private static final String LINK = "169.254." + (200 + PID % 50) + "." + (PID % 60 * 4) + "/30";
  private final NetworkConfig config = config("bxeg" + PID % 100000);
  private final NetworkConfig other = config("bxeh" + PID % 100000);
  @TempDir
  Path dir;

  private static NetworkConfig config(String namespace) {
    return new NetworkConfig(namespace, "br0", Ipv4Subnet.parse("10.252.9.0/24"), Optional.of(NetworkConfig.Uplink.toHost(namespace, LINK)));
  }

  @AfterEach
  void cleanUp() {
    new HostNetwork(config).tearDown();
    new HostNetwork(other).tearDown();
  }

  private static String hostDevice(NetworkConfig c) {
    return c.uplink().orElseThrow().peerDevice();
  }

  private static String hostAddress() {
    return Ipv4Subnet.parse(LINK).gateway().toString();
  }

  @Test
  void theLinkTheHostTableAndTheDefaultRouteAreMadeOnceAndRemovedWithTheNetwork() {
    var network = new HostNetwork(config);
    network.setUp(dir);
    String device = hostDevice(config);
    assertThat(device).isEqualTo("bxup-" + config.namespace());
    String index = HostCommand.run("cat", "/sys/class/net/" + device + "/ifindex").stdout();
    assertThat(HostCommand.run("nft", "list", "table", "ip", EgressLink.hostTable(device)).stdout())
        .contains("iifname \"" + device + "\" counter").contains("masquerade");
    assertThat(network.namespace().run("ip", "route", "show", "default").stdout()).contains("via " + hostAddress() + " dev uplink0");

    network.setUp(dir); // a restarted server keeps the link it finds
    assertThat(HostCommand.run("cat", "/sys/class/net/" + device + "/ifindex").stdout()).isEqualTo(index);

    network.tearDown();
    assertThat(HostCommand.tryRun("ip", "link", "show", device).ok()).isFalse();
    assertThat(HostCommand.tryRun("nft", "list", "table", "ip", EgressLink.hostTable(device)).ok()).isFalse();
  }

  @Test
  void aServerStartedWithoutEgressRemovesTheLinkAnEarlierRunMade() {
    new HostNetwork(config).setUp(dir);
    var withoutEgress = new HostNetwork(new NetworkConfig(config.namespace(), config.bridge(), config.subnet(), Optional.empty()));
    withoutEgress.setUp(dir);
    String device = hostDevice(config);
    assertThat(withoutEgress.namespace().tryRun("ip", "link", "show", "uplink0").ok()).isFalse();
    assertThat(HostCommand.tryRun("nft", "list", "table", "ip", EgressLink.hostTable(device)).ok()).isFalse();
    assertThat(withoutEgress.namespace().run("ip", "route", "show", "default").stdout()).isEmpty();
  }

  @Test
  void nothingFromTheLinkReachesTheHostsOwnServicesOnAnyOfItsAddresses() throws Exception {
    var network = new HostNetwork(config);
    network.setUp(dir);
    String hostRouteSource = HostCommand.run("ip", "-4", "route", "get", "192.0.2.200").stdout().replaceAll("(?s).* src (\\S+).*", "$1").trim();
    try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("0.0.0.0", 0))) {
      int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
      for (String address : new String[] {hostAddress(), hostRouteSource}) {
        assertThatThrownBy(() -> network.namespace().connect(new InetSocketAddress(address, port), Duration.ofMillis(1500)).close())
            .as("a connection to the host's %s:%d from the VM namespace", address, port).isInstanceOf(IOException.class);
      }
    }
  }

  @Test
  void aVmsEgressCountersAreMadeWithItKeptWhenItIsAttachedAgainAndGoWithIt() {
    var network = new HostNetwork(config);
    network.setUp(dir);
    VmNic vm = VmNic.of(config.subnet().gateway().plus(1), "alice");
    network.attachNew(vm);
    assertThat(network.egressTraffic(vm)).isEqualTo(dev.boxd.core.net.EgressTraffic.NONE);
    network.attach(vm); // a restarted worker re-attaching it
    network.setUp(dir);
    assertThat(network.namespace().run("nft", "list", "map", "ip", NftRules.TRAFFIC_TABLE, "vm_out").stdout())
        .contains(vm.ip() + " : \"" + NftRules.outCounter(vm) + "\"");
    network.detach(vm);
    assertThat(network.namespace().tryRun("nft", "list", "counter", "ip", NftRules.TRAFFIC_TABLE, NftRules.outCounter(vm)).ok()).isFalse();
    network.attachNew(vm); // the address given to a new VM
    assertThat(network.egressTraffic(vm)).isEqualTo(dev.boxd.core.net.EgressTraffic.NONE);
  }

  @Test
  void aLinkNetAnotherNamespaceUsesIsRefusedNamingTheWayOut() {
    new HostNetwork(config).setUp(dir);
    assertThatThrownBy(() -> new HostNetwork(other).setUp(dir.resolve("other")))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION))
        .hasMessageContaining(LINK).hasMessageContaining("--egress-net");
  }

  @Test
  void aLinkNetInsideTheVmSubnetIsRefused() {
    assertThatThrownBy(() -> new NetworkConfig("x", "br0", Ipv4Subnet.parse("169.254.0.0/16"), Optional.of(NetworkConfig.Uplink.toHost("x", LINK))))
        .isInstanceOf(BoxdException.class).hasMessageContaining("overlaps the VM subnet");
  }

  @Test
  void longNamespaceNamesGetAHashedDeviceName() {
    assertThat(NetworkConfig.Uplink.hostDeviceOf("boxd")).isEqualTo("bxup-boxd");
    String hashed = NetworkConfig.Uplink.hostDeviceOf("a-namespace-name-too-long");
    assertThat(hashed).hasSize(15).startsWith("bxup-").isEqualTo(NetworkConfig.Uplink.hostDeviceOf("a-namespace-name-too-long"));
  }
}
