package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.T0;
import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static dev.boxd.core.state.Fixtures.user;
import static dev.boxd.core.state.Fixtures.vm;
import static dev.boxd.core.state.Fixtures.worker;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4;
import org.junit.jupiter.api.Test;

/** Isolated VMs (SPEC §12): fixed at creation, kept by forks and by VMs from their snapshots, even after the VM is gone. */
class IsolationTest {

  private static Command.CreateVm isolated(String id, String name, String ip) {
    return new Command.CreateVm(id, "u1", name, 2, 1024, 100, Ipv4.parse(ip), Ipv4.parse("203.0.113.1"), "w1", T0, "", true);
  }

  @Test
  void anIsolatedVmIsSoAndAPlainOneIsNot() {
    ClusterState s = given(user("u1"), worker("w1"), isolated("vm1", "box", "10.77.0.1"), vm("vm2", "u1", "plain", "10.77.0.2",
        "203.0.113.2"));
    assertThat(s.vm("vm1").orElseThrow().isolated()).isTrue();
    assertThat(s.vm("vm2").orElseThrow().isolated()).isFalse();
  }

  @Test
  void aForkOfAnIsolatedVmIsIsolatedAndOfAPlainOneIsNot() {
    ClusterState s = given(user("u1"), worker("w1"), isolated("vm1", "box", "10.77.0.1"), vm("vm2", "u1", "plain", "10.77.0.2",
        "203.0.113.2"));
    s = next(s, new Command.ForkVm("vm3", "vm1", "box-fork", Ipv4.parse("10.77.0.3"), Ipv4.parse("203.0.113.3"), T0)).state();
    s = next(s, new Command.ForkVm("vm4", "vm3", "box-fork-fork", Ipv4.parse("10.77.0.4"), Ipv4.parse("203.0.113.4"), T0)).state();
    s = next(s, new Command.ForkVm("vm5", "vm2", "plain-fork", Ipv4.parse("10.77.0.5"), Ipv4.parse("203.0.113.5"), T0)).state();
    assertThat(s.vm("vm3").orElseThrow().isolated()).isTrue();
    assertThat(s.vm("vm4").orElseThrow().isolated()).as("a fork of a fork").isTrue();
    assertThat(s.vm("vm5").orElseThrow().isolated()).isFalse();
  }

  @Test
  void aSnapshotOfAnIsolatedVmKeepsItIsolatedAfterTheVmIsGone() {
    ClusterState s = given(user("u1"), worker("w1"), isolated("vm1", "box", "10.77.0.1"),
        new Command.SaveSnapshot(Snapshot.saving("s1", "u1", "base", "vm1", "box", "w1", 2, 1024, 100, T0)),
        new Command.SnapshotSaved("s1", "w1", 4096));
    assertThat(s.snapshot("s1").orElseThrow().isolated()).as("set by the log from its VM").isTrue();
    s = next(next(s, new Command.DestroyVm("vm1")).state(), new Command.RemoveVm("vm1", "w1")).state();
    assertThat(s.snapshot("s1").orElseThrow().isolated()).isTrue();
    s = next(s, new Command.CreateFromSnapshot("vm2", "s1", "again", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0)).state();
    assertThat(s.vm("vm2").orElseThrow().isolated()).isTrue();
  }

  @Test
  void aSnapshotOfAPlainVmStartsPlainVms() {
    ClusterState s = given(user("u1"), worker("w1"), vm("vm1", "u1", "plain", "10.77.0.1"),
        new Command.SaveSnapshot(Snapshot.saving("s1", "u1", "base", "vm1", "plain", "w1", 2, 1024, 100, T0)),
        new Command.SnapshotSaved("s1", "w1", 4096),
        new Command.CreateFromSnapshot("vm2", "s1", "again", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0));
    assertThat(s.snapshot("s1").orElseThrow().isolated()).isFalse();
    assertThat(s.vm("vm2").orElseThrow().isolated()).isFalse();
  }
}
