package dev.boxd.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.codec.CommandCodec;
import dev.boxd.core.state.codec.SnapshotCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/** Invariants of the state machine over random logs that collide on purpose. */
class FsmPropertiesTest {

  @Provide
  Arbitrary<List<Command>> logs() {
    return CommandArbitraries.collidingLogs(80);
  }

  @Provide
  Arbitrary<Command> anyCommand() {
    return CommandArbitraries.anyValue();
  }

  @Property(tries = 500)
  void applyIsDeterministic(@ForAll("logs") List<Command> log) {
    List<Applied> first = run(log);
    List<Applied> second = run(log);

    assertThat(second).isEqualTo(first);
    ClusterState end = first.getLast().state();
    assertThat(SnapshotCodec.encode(second.getLast().state())).isEqualTo(SnapshotCodec.encode(end));
  }

  @Property(tries = 500)
  void invariantsHoldAfterEveryEntry(@ForAll("logs") List<Command> log) {
    ClusterState before = ClusterState.empty();
    for (Applied applied : run(log)) {
      ClusterState s = applied.state();
      assertThat(s.appliedIndex()).isEqualTo(before.appliedIndex() + 1);
      assertNamesUniquePerOwner(s);
      assertAddressesUnique(s);
      assertReferencesResolve(s);
      assertIndexesMatchRecords(s);
      if (applied.result() instanceof Result.Rejected) {
        assertThat(s).as("a rejection changes nothing but the index").isEqualTo(Fsm.skip(before, s.appliedIndex()));
      }
      Statistics.label("result").collect(applied.result() instanceof Result.Rejected r ? r.code().name() : "OK");
      before = s;
    }
  }

  @Property(tries = 500)
  void aCreateNeverTakesAnOwnerPastAnyLimit(@ForAll("logs") List<Command> log) {
    ClusterState before = ClusterState.empty();
    for (int i = 0; i < log.size(); i++) {
      Applied applied = Fsm.apply(before, i + 1, log.get(i));
      if (log.get(i) instanceof Command.CreateVm create && applied.result().isOk()) {
        User owner = applied.state().user(create.ownerId()).orElseThrow();
        var held = applied.state().vmsOf(owner.id());
        assertThat(held.size()).isLessThanOrEqualTo(owner.maxVms());
        assertThat(held.stream().mapToLong(Vm::vcpus).sum()).isLessThanOrEqualTo(owner.quota().totalVcpus());
        assertThat(held.stream().mapToLong(Vm::memoryMib).sum()).isLessThanOrEqualTo(owner.quota().totalMemoryMib());
        assertThat(held.stream().mapToLong(Vm::diskGb).sum()).isLessThanOrEqualTo(owner.quota().totalDiskGb());
        assertThat(create.memoryMib()).isLessThanOrEqualTo(owner.quota().vmMemoryMib());
      }
      before = applied.state();
    }
  }

  @Property(tries = 1000)
  void codecRoundTripsEveryCommand(@ForAll("anyCommand") Command command) {
    assertThat(CommandCodec.decode(CommandCodec.encode(command))).isEqualTo(command);
    Statistics.label("command").collect(command.getClass().getSimpleName());
  }

  @Property(tries = 300)
  void snapshotsRoundTrip(@ForAll("logs") List<Command> log) {
    ClusterState state = run(log).getLast().state();

    ClusterState restored = SnapshotCodec.decode(SnapshotCodec.encode(state));
    assertThat(restored).isEqualTo(state);
    assertIndexesMatchRecords(restored);
  }

  private static List<Applied> run(List<Command> log) {
    List<Applied> out = new ArrayList<>();
    ClusterState state = ClusterState.empty();
    for (Command command : log) {
      Applied applied = Fsm.apply(state, state.appliedIndex() + 1, command);
      out.add(applied);
      state = applied.state();
    }
    return out;
  }

  private static void assertNamesUniquePerOwner(ClusterState s) {
    Set<String> seen = new HashSet<>();
    for (Vm vm : s.vms()) {
      assertThat(seen.add(vm.ownerId() + "/" + vm.name())).as("name %s of %s is unique", vm.name(), vm.ownerId()).isTrue();
    }
  }

  private static void assertAddressesUnique(ClusterState s) {
    assertThat(s.vms().stream().map(Vm::ip).collect(Collectors.toSet())).hasSameSizeAs(s.vms());
    Set<String> publicPerOwner = s.vms().stream().map(vm -> vm.ownerId() + "/" + vm.publicIp()).collect(Collectors.toSet());
    assertThat(publicPerOwner).hasSameSizeAs(s.vms());
  }

  private static void assertReferencesResolve(ClusterState s) {
    for (Vm vm : s.vms()) {
      assertThat(s.user(vm.ownerId())).isPresent();
      assertThat(s.worker(vm.workerId())).isPresent();
    }
    for (Proxy proxy : s.proxies()) {
      assertThat(s.vm(proxy.vmId())).as("a route's VM is not being destroyed").hasValueSatisfying(
          vm -> assertThat(vm.desired()).isNotEqualTo(DesiredPower.DESTROYED));
    }
    for (Exposure exposure : s.exposures()) {
      assertThat(s.vm(exposure.vmId())).as("a forward's VM is not being destroyed").hasValueSatisfying(
          vm -> assertThat(vm.desired()).isNotEqualTo(DesiredPower.DESTROYED));
      assertThat(s.exposuresOf(exposure.vmId())).hasSizeLessThanOrEqualTo(Exposure.MAX_PER_VM);
    }
    Set<String> liveNames = new HashSet<>();
    for (Vm vm : s.vms()) {
      if (vm.desired() != DesiredPower.DESTROYED) {
        assertThat(liveNames.add(vm.name())).as("VM name %s names one live VM in the cluster", vm.name()).isTrue();
      }
    }
    assertThat(s.vms().stream().filter(Vm::hasSshPort).map(Vm::sshPort).collect(Collectors.toSet()))
        .hasSize((int) s.vms().stream().filter(Vm::hasSshPort).count());
    for (SshKey key : s.keys()) {
      assertThat(s.user(key.userId())).isPresent();
      assertThat(s.registrationOfKey(key.fingerprint())).as("a linked key has no pending registration").isEmpty();
    }
  }

  private static void assertIndexesMatchRecords(ClusterState s) {
    for (Vm vm : s.vms()) {
      assertThat(s.vmByName(vm.ownerId(), vm.name())).contains(vm);
      assertThat(s.vmByIp(vm.ip())).contains(vm);
      assertThat(s.vmsOnWorker(vm.workerId())).contains(vm);
      assertThat(s.vmsOf(vm.ownerId())).contains(vm);
    }
    assertThat(s.usedIps()).hasSameSizeAs(s.vms());
    int placed = s.workers().stream().mapToInt(w -> s.vmsOnWorker(w.id()).size()).sum();
    assertThat(placed).isEqualTo(s.vms().size());
  }
}
