package dev.boxd.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4Subnet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One server owns its VM namespace: another state directory's server is refused while it (or its
 * VMs) run, and its leftovers are removed once it is gone; a tap never keeps another owner's set
 * membership. Real namespaces, taps and nftables, no VMs (a {@code sleep} in the namespace plays
 * a VM's QEMU). Needs root.
 */
class NamespaceOwnerTest {
  private static final Ipv4Subnet SUBNET = Ipv4Subnet.parse("10.251.9.0/24");
  private final NetworkNamespace namespace = new NetworkNamespace("bxown" + ProcessHandle.current().pid() % 100000);
  private final NetworkConfig config = new NetworkConfig(namespace.name(), "br0", SUBNET, Optional.empty());
  private final VmNic alicesVm = VmNic.of(SUBNET.gateway().plus(1), "alice");
  @TempDir
  Path dir;
  private Process standIn;

  @AfterEach
  void cleanUp() {
    if (standIn != null) {
      standIn.destroyForcibly();
    }
    new HostNetwork(config).tearDown();
  }

  @Test
  void aNamespaceOfAServerThatRunsIsRefusedByName() throws Exception {
    Path a = Files.createDirectories(dir.resolve("a"));
    new HostNetwork(config).setUp(a);
    // Another server process owns it: a live process whose pid and start time the claim names.
    standIn = new ProcessBuilder("sleep", "600").start();
    ProcessHandle other = standIn.toHandle();
    NamespaceOwner.write(namespace.name(), new NamespaceOwner.Claim(a, other.pid(), other.info().startInstant().orElseThrow()));

    assertThatThrownBy(() -> new HostNetwork(config).setUp(dir.resolve("b")))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION))
        .hasMessage("network namespace " + namespace.name() + " belongs to the boxd server of " + a + " (pid " + other.pid()
            + ", running); give this server a namespace of its own with --netns NAME");
    assertThat(NamespaceOwner.read(namespace.name()).orElseThrow().stateDir()).as("the claim stays").isEqualTo(a);
  }

  @Test
  void theLeftoversOfAServerThatIsGoneAreRemoved() throws Exception {
    Path a = Files.createDirectories(dir.resolve("a"));
    var first = new HostNetwork(config);
    first.setUp(a);
    first.attach(alicesVm);
    NamespaceOwner.write(namespace.name(), new NamespaceOwner.Claim(a, deadPid(), Instant.EPOCH));

    Path b = dir.resolve("b");
    var second = new HostNetwork(config);
    second.setUp(b);
    assertThat(second.taps()).as("the other server's tap").isEmpty();
    assertThat(namespace.run("nft", "list", "sets", "bridge").stdout()).doesNotContain(alicesVm.tap());
    assertThat(NamespaceOwner.read(namespace.name()).orElseThrow().stateDir()).isEqualTo(b.toAbsolutePath());
  }

  @Test
  void vmsOfAServerThatIsGoneAreKeptForItWhileItsDirectoryIsThere() throws Exception {
    Path a = Files.createDirectories(dir.resolve("a"));
    new HostNetwork(config).setUp(a);
    standIn = new ProcessBuilder("ip", "netns", "exec", namespace.name(), "sleep", "600").start();
    long pid = standIn.pid();
    awaitInNamespace(pid);
    NamespaceOwner.write(namespace.name(), new NamespaceOwner.Claim(a, deadPid(), Instant.EPOCH));

    assertThatThrownBy(() -> new HostNetwork(config).setUp(dir.resolve("b")))
        .isInstanceOf(BoxdException.class)
        .hasMessage("network namespace " + namespace.name() + " belongs to the boxd server of " + a + ", whose server is not"
            + " running but whose VMs are (processes [" + pid + "]): start that server again to take them back, or stop them;"
            + " give this server a namespace of its own with --netns NAME");
    assertThat(standIn.isAlive()).isTrue();

    // Its directory gone, nothing could take them back: they go with the rest.
    Files.delete(a);
    new HostNetwork(config).setUp(dir.resolve("b"));
    assertThat(standIn.waitFor(10, TimeUnit.SECONDS)).as("the orphan is ended").isTrue();
  }

  @Test
  void aTapLeavesTheSetOfAFormerOwnerOfItsAddress() {
    var network = new HostNetwork(config);
    network.setUp(dir);
    network.attach(alicesVm);
    // A detach cut short: the tap is still there, and alice's set still holds it.
    network.attach(VmNic.of(alicesVm.ip(), "bob"));
    String sets = namespace.run("nft", "list", "sets", "bridge").stdout();
    assertThat(NftRules.setsHolding(sets, alicesVm.tap())).containsExactly(NftRules.ownerSet("bob"));

    // And one whose tap is gone too: the next start drops the name from the set.
    namespace.nft("add set bridge boxd " + NftRules.ownerSet("carol") + " { type ifname; }\n"
        + "add element bridge boxd " + NftRules.ownerSet("carol") + " { \"bxgone\" }\n");
    network.setUp(dir);
    assertThat(NftRules.elementsOf(namespace.run("nft", "list", "sets", "bridge").stdout())).containsExactly(alicesVm.tap());
  }

  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    return p.pid();
  }

  private void awaitInNamespace(long pid) {
    await().atMost(Duration.ofSeconds(10)).until(() -> NamespaceOwner.processesIn(namespace).contains(pid));
  }
}
