package dev.boxd.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4Subnet;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rules an isolated VM's tap gets (SPEC §12), as nftables holds them in a real namespace:
 * no owner set, a forward chain that drops everything, its address in the input rules' set, all
 * kept across a restart and gone with the VM. What they let through is tested with real VMs
 * ({@code IsolatedVmTest} in the server module). Needs root; removes what it made.
 */
class IsolatedNicTest {
  private static final Ipv4Subnet SUBNET = Ipv4Subnet.parse("10.252.13.0/24");
  private final NetworkConfig config = new NetworkConfig("bxis" + ProcessHandle.current().pid() % 100000, "br0", SUBNET, Optional.empty());
  private final HostNetwork network = new HostNetwork(config);
  private final VmNic plain = VmNic.of(SUBNET.gateway().plus(1), "alice");
  private final VmNic isolated = VmNic.of(SUBNET.gateway().plus(2), "alice", true);
  @TempDir
  Path dir;

  @AfterEach
  void tearDown() {
    network.tearDown();
  }

  private String nft(String... args) {
    return network.namespace().run(args).stdout();
  }

  private String ownerSet() {
    return nft("nft", "list", "set", "bridge", NftRules.BRIDGE_TABLE, NftRules.ownerSet("alice"));
  }

  private String isolatedSet() {
    return nft("nft", "list", "set", "ip", NftRules.ISOLATED_TABLE, "vms");
  }

  @Test
  void anIsolatedTapJoinsNoSetDropsAllItForwardsAndItsAddressIsHeldToTheInputRules() {
    network.setUp(dir);
    network.attachNew(plain);
    network.attachNew(isolated);

    assertThat(ownerSet()).contains("\"" + plain.tap() + "\"").doesNotContain(isolated.tap());
    assertThat(nft("nft", "list", "chain", "bridge", NftRules.BRIDGE_TABLE, "fwd_" + isolated.tap()))
        .contains("counter name \"isolate_" + isolated.tap() + "\" drop").doesNotContain("oifname");
    assertThat(isolatedSet()).contains(isolated.ip().toString()).doesNotContain(plain.ip().toString() + ",");
    assertThat(NftRules.isolatedIn(isolatedSet())).containsExactly(isolated.ip());
    assertThat(nft("nft", "list", "chain", "ip", NftRules.ISOLATED_TABLE, "input"))
        .contains("ip saddr != @vms accept")
        .contains("ct state established,related accept")
        .contains("udp dport 53 accept")
        .contains("tcp dport { 53, " + HostNetwork.GUEST_CLI_PORT + ", " + HostNetwork.GUEST_API_PORT + " } accept");

    network.setUp(dir); // a restarted worker
    network.attach(isolated);
    assertThat(NftRules.isolatedIn(isolatedSet())).as("kept across a restart").containsExactly(isolated.ip());
    assertThat(ownerSet()).doesNotContain(isolated.tap());

    network.detach(isolated);
    assertThat(NftRules.isolatedIn(isolatedSet())).isEmpty();
    network.attach(VmNic.of(isolated.ip(), "alice"));
    assertThat(ownerSet()).as("the address's next VM, not isolated").contains(isolated.tap());
    assertThat(NftRules.isolatedIn(isolatedSet())).isEmpty();
  }

  @Test
  void aVmThatIsNotIsolatedLeavesAnIsolatedAddressItWasGivenAndGoneTapsLoseTheirs() {
    network.setUp(dir);
    network.attachNew(isolated);
    network.namespace().run("ip", "link", "delete", isolated.tap()); // a detach cut short after the tap went
    network.setUp(dir);
    assertThat(NftRules.isolatedIn(isolatedSet())).as("the tap is gone").isEmpty();

    network.attachNew(isolated);
    network.attach(VmNic.of(isolated.ip(), "alice")); // the tap is still there: the careful way
    assertThat(NftRules.isolatedIn(isolatedSet())).isEmpty();
  }
}
