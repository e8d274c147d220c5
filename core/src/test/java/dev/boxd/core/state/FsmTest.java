package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.T0;
import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static dev.boxd.core.state.Fixtures.user;
import static dev.boxd.core.state.Fixtures.vm;
import static dev.boxd.core.state.Fixtures.worker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.util.List;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command.CreateVm;
import dev.boxd.core.state.Command.DestroyVm;
import dev.boxd.core.state.Command.Reboot;
import dev.boxd.core.state.Command.RemoveVm;
import dev.boxd.core.state.Command.ReportObserved;
import dev.boxd.core.state.Command.SetDesiredPower;
import dev.boxd.core.state.Command.SetUserQuota;
import org.junit.jupiter.api.Test;

class FsmTest {
  private final ClusterState base = given(user("u1"), user("u2"), worker("w1"));

  @Test
  void createVmPlacesItRunningWithNothingObservedYet() {
    Applied applied = next(base, vm("vm1", "u1", "app", "10.77.0.5"));

    assertThat(applied.result()).isEqualTo(new Result.Ok(4));
    Vm vm = applied.state().vm("vm1").orElseThrow();
    assertThat(vm.desired()).isEqualTo(DesiredPower.RUNNING);
    assertThat(vm.observed()).isEqualTo(VmObserved.initial(T0));
    assertThat(applied.state().vmByName("u1", "app")).contains(vm);
    assertThat(applied.state().vmByIp(Ipv4.parse("10.77.0.5"))).contains(vm);
    assertThat(applied.state().vmsOnWorker("w1")).containsExactly(vm);
    assertThat(applied.state().appliedIndex()).isEqualTo(4);
  }

  @Test
  void namesAreUniqueInTheClusterBecauseTheyArePublicHostNames() {
    ClusterState s = given(user("u1"), user("u2"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5"));

    assertRejected(next(s, vm("vm2", "u1", "app", "10.77.0.6", "203.0.113.2")),
        ErrorCode.ALREADY_EXISTS, "a VM named \"app\" already exists");
    Applied another = next(s, vm("vm2", "u2", "app", "10.77.0.6"));
    assertRejected(another, ErrorCode.ALREADY_EXISTS, "the name \"app\" is taken: VM names are public host names");
    assertThat(reason(another)).isEqualTo(Result.Reason.NAME_TAKEN);
    assertThat(s.vmByName("app")).map(Vm::id).contains("vm1");

    ClusterState destroyed = next(s, new Command.DestroyVm("vm1")).state();
    assertThat(destroyed.vmByName("app")).as("a VM being destroyed names nothing").isEmpty();
    assertThat(next(destroyed, vm("vm2", "u2", "app", "10.77.0.6")).result().isOk()).isTrue();
  }

  @Test
  void privateAddressesAreUniqueInTheCluster() {
    ClusterState s = given(user("u1"), user("u2"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5"));

    assertRejected(next(s, vm("vm2", "u2", "db", "10.77.0.5")), ErrorCode.ALREADY_EXISTS, "address 10.77.0.5 is already in use");
  }

  @Test
  void aTakenAddressIsAReasonToChooseAgainAndATakenNameIsNot() {
    ClusterState s = given(user("u1"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5", "203.0.113.7"));

    assertThat(reason(next(s, vm("vm2", "u1", "db", "10.77.0.5")))).isEqualTo(Result.Reason.ADDRESS_TAKEN);
    assertThat(reason(next(s, vm("vm2", "u1", "db", "10.77.0.6", "203.0.113.7")))).isEqualTo(Result.Reason.ADDRESS_TAKEN);
    assertThat(reason(next(s, vm("vm2", "u1", "app", "10.77.0.6", "203.0.113.8")))).isEqualTo(Result.Reason.NONE);
  }

  private static Result.Reason reason(Applied applied) {
    return ((Result.Rejected) applied.result()).reason();
  }

  @Test
  void publicAddressesAreSharedAcrossOwnersButNotWithinOne() {
    ClusterState s = given(user("u1"), user("u2"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5", "203.0.113.7"));

    assertRejected(next(s, vm("vm2", "u1", "db", "10.77.0.6", "203.0.113.7")), ErrorCode.ALREADY_EXISTS,
        "public address 203.0.113.7 is already in use by another VM of this account");
    ClusterState shared = next(s, vm("vm2", "u2", "db", "10.77.0.6", "203.0.113.7")).state();
    assertThat(shared.usedPublicIps()).containsExactly(Ipv4.parse("203.0.113.7"));
    assertThat(shared.publicIpsOf("u2")).containsExactly(Ipv4.parse("203.0.113.7"));
  }

  @Test
  void quotaCountsEveryVmNotYetRemoved() {
    ClusterState s = given(user("u1"), worker("w1"), new SetUserQuota("u1", 2),
        vm("vm1", "u1", "a", "10.77.0.1", "203.0.113.1"), vm("vm2", "u1", "b", "10.77.0.2", "203.0.113.2"),
        new SetDesiredPower("vm1", DesiredPower.STOPPED), new DestroyVm("vm2"));

    CreateVm third = vm("vm3", "u1", "c", "10.77.0.3", "203.0.113.3");
    assertRejected(next(s, third), ErrorCode.RESOURCE_EXHAUSTED,
        "quota reached: 2 of 2 VMs (running, standby, hibernated and stopped all count)");

    ClusterState removed = next(s, new RemoveVm("vm2", "w1")).state();
    assertThat(next(removed, third).result().isOk()).isTrue();
  }

  @Test
  void aVmRecordsItsImageAndItsForksInheritItWhileAnImpossibleNameIsRefused() {
    ClusterState s = given(user("u1"), worker("w1"));
    var named = new Command.CreateVm("vm1", "u1", "app", 1, 512, 10, Ipv4.parse("10.77.0.1"), Ipv4.parse("203.0.113.1"), "w1", T0,
        "deb-import");
    ClusterState made = next(s, named).state();
    assertThat(made.vm("vm1").orElseThrow().image()).isEqualTo("deb-import");
    ClusterState forked = next(made, new Command.ForkVm("vm2", "vm1", "copy", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0))
        .state();
    assertThat(forked.vm("vm2").orElseThrow().image()).isEqualTo("deb-import");
    assertThat(next(s, vm("vm3", "u1", "plain", "10.77.0.3")).state().vm("vm3").orElseThrow().hasDefaultImage()).isTrue();

    var bad = new Command.CreateVm("vm4", "u1", "bad", 1, 512, 10, Ipv4.parse("10.77.0.4"), Ipv4.parse("203.0.113.4"), "w1", T0,
        "../Etc");
    assertRejected(next(s, bad), ErrorCode.INVALID_ARGUMENT, "invalid image name \"../Etc\"");
    assertThat(next(s, bad).state().vm("vm4")).isEmpty();
  }

  @Test
  void aForkTakesItsSourcesOwnerSizeAndWorkerAndCountsAgainstQuota() {
    ClusterState s = given(user("u1"), worker("w1"), new SetUserQuota("u1", 2), vm("vm1", "u1", "app", "10.77.0.1", "203.0.113.1"));
    var fork = new Command.ForkVm("vm2", "vm1", "app-fork", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0);
    ClusterState forked = next(s, fork).state();
    Vm child = forked.vm("vm2").orElseThrow();
    Vm source = forked.vm("vm1").orElseThrow();
    assertThat(child.ownerId()).isEqualTo("u1");
    assertThat(child.workerId()).isEqualTo(source.workerId());
    assertThat(child.vcpus()).isEqualTo(source.vcpus());
    assertThat(child.memoryMib()).isEqualTo(source.memoryMib());
    assertThat(child.forkedFrom()).isEqualTo("vm1");
    assertThat(child.isFork()).isTrue();
    assertThat(source.isFork()).isFalse();

    assertRejected(next(s, new Command.ForkVm("vm2", "vm1", "app", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0)),
        ErrorCode.ALREADY_EXISTS, "a VM named \"app\" already exists");
    assertRejected(next(forked, new Command.ForkVm("vm3", "vm2", "third", Ipv4.parse("10.77.0.3"), Ipv4.parse("203.0.113.3"), T0)),
        ErrorCode.RESOURCE_EXHAUSTED, "quota reached: 2 of 2 VMs");
    assertRejected(next(s, new Command.ForkVm("vm2", "nope", "x", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0)),
        ErrorCode.NOT_FOUND, "no VM with id \"nope\"");
    ClusterState destroyed = next(s, new DestroyVm("vm1")).state();
    assertRejected(next(destroyed, fork), ErrorCode.FAILED_PRECONDITION, "being destroyed");
  }

  @Test
  void idleVmsSleepAndTrafficWakesThemButTheUsersLaterWordWins() {
    ClusterState s = given(user("u1"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.1"));
    assertThat(s.vm("vm1").orElseThrow().autoSuspendSecs()).isEqualTo(30);
    s = next(s, new Command.SetAutoSuspend("vm1", 5)).state();
    assertThat(s.vm("vm1").orElseThrow().autoSuspendSecs()).isEqualTo(5);
    assertRejected(next(s, new Command.SetAutoSuspend("vm1", -1)), ErrorCode.INVALID_ARGUMENT, "expected 0 (off)");

    assertRejected(next(s, new Command.IdleSleep("vm1", "w2", DesiredPower.STANDBY)), ErrorCode.PERMISSION_DENIED, "w2");
    assertRejected(next(s, new Command.IdleSleep("vm1", "w1", DesiredPower.HIBERNATED)), ErrorCode.FAILED_PRECONDITION,
        "is to be running now, not standby");
    ClusterState standby = next(s, new Command.IdleSleep("vm1", "w1", DesiredPower.STANDBY)).state();
    assertThat(standby.vm("vm1").orElseThrow().desired()).isEqualTo(DesiredPower.STANDBY);
    ClusterState hibernated = next(standby, new Command.IdleSleep("vm1", "w1", DesiredPower.HIBERNATED)).state();
    assertThat(hibernated.vm("vm1").orElseThrow().desired()).isEqualTo(DesiredPower.HIBERNATED);
    ClusterState woken = next(hibernated, new Command.TrafficWake("vm1", "w1")).state();
    assertThat(woken.vm("vm1").orElseThrow().desired()).isEqualTo(DesiredPower.RUNNING);
    assertRejected(next(woken, new Command.TrafficWake("vm1", "w1")), ErrorCode.FAILED_PRECONDITION, "is not asleep");

    ClusterState stopped = next(s, new SetDesiredPower("vm1", DesiredPower.STOPPED)).state();
    assertRejected(next(stopped, new Command.IdleSleep("vm1", "w1", DesiredPower.STANDBY)), ErrorCode.FAILED_PRECONDITION,
        "is to be stopped now");
  }

  @Test
  void aSnapshotIsSavingUntilItsWorkerReportsItSavedAndOnlyThenStartsVms() {
    ClusterState s = given(user("u1"), user("u2"), worker("w1"), worker("w2"), vm("vm1", "u1", "app", "10.77.0.1"));
    var snap = Snapshot.saving("s1", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, T0);
    assertRejected(next(s, new Command.SaveSnapshot(Snapshot.saving("s1", "u2", "base", "vm1", "app", "w1", 2, 1024, 100, T0))),
        ErrorCode.NOT_FOUND, "vm1");
    assertRejected(next(s, new Command.SaveSnapshot(Snapshot.saving("s1", "u1", "base", "vm1", "app", "w2", 2, 1024, 100, T0))),
        ErrorCode.INVALID_ARGUMENT, "a snapshot is kept where its VM runs");
    s = next(s, new Command.SaveSnapshot(snap)).state();
    assertThat(s.snapshot("s1").orElseThrow().status()).isEqualTo(Snapshot.Status.SAVING);
    assertRejected(next(s, new Command.CreateFromSnapshot("vm2", "s1", "copy", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0)),
        ErrorCode.FAILED_PRECONDITION, "is still being saved");
    assertRejected(next(s, new Command.SnapshotSaved("s1", "w2", 10)), ErrorCode.FAILED_PRECONDITION, "is kept on worker");
    s = next(s, new Command.SnapshotSaved("s1", "w1", 4096)).state();
    assertThat(s.snapshot("s1").orElseThrow().isSaved()).isTrue();
    assertThat(s.snapshot("s1").orElseThrow().bytes()).isEqualTo(4096);
    assertRejected(next(s, new Command.SnapshotSaved("s1", "w1", 1)), ErrorCode.FAILED_PRECONDITION, "is saved already");
    assertThat(next(s, new Command.CreateFromSnapshot("vm2", "s1", "copy", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0))
        .result().isOk()).isTrue();
    ClusterState removed = next(s, new Command.RemoveSnapshot("s1")).state();
    assertRejected(next(removed, new Command.SnapshotSaved("s1", "w1", 1)), ErrorCode.NOT_FOUND, "removed while it was saved");
    ClusterState destroying = next(next(removed, new Command.SaveSnapshot(Snapshot.saving("s3", "u1", "other", "vm1", "app", "w1", 2, 1024,
        100, T0))).state(), new DestroyVm("vm1")).state();
    assertRejected(next(destroying, new Command.SaveSnapshot(Snapshot.saving("s4", "u1", "late", "vm1", "app", "w1", 2, 1024, 100, T0))),
        ErrorCode.FAILED_PRECONDITION, "is being destroyed");
  }

  @Test
  void snapshotsAreNamedPerAccountLimitedAndOutliveTheirVm() {
    ClusterState s = given(user("u1"), user("u2"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.1"));
    var snap = Snapshot.saving("s1", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, T0);
    s = next(s, new Command.AddSnapshot(snap)).state();
    assertRejected(next(s, new Command.AddSnapshot(Snapshot.saving("s2", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, T0))),
        ErrorCode.ALREADY_EXISTS, "a snapshot named \"base\" already exists");
    assertThat(next(s, new Command.AddSnapshot(Snapshot.saving("s2", "u2", "base", "vm1", "app", "w1", 2, 1024, 100, T0))).result().isOk())
        .as("names are per account").isTrue();
    assertRejected(next(s, new Command.AddSnapshot(Snapshot.saving("s2", "u1", "Bad", "vm1", "app", "w1", 2, 1024, 100, T0))),
        ErrorCode.INVALID_ARGUMENT, "invalid snapshot name");
    ClusterState full = s;
    for (int i = 2; i <= ClusterState.MAX_SNAPSHOTS; i++) {
      full = next(full, new Command.AddSnapshot(Snapshot.saving("s" + i, "u1", "n" + i, "vm1", "app", "w1", 2, 1024, 100, T0))).state();
    }
    assertRejected(next(full, new Command.AddSnapshot(Snapshot.saving("s99", "u1", "more", "vm1", "app", "w1", 2, 1024, 100, T0))),
        ErrorCode.RESOURCE_EXHAUSTED, "snapshot limit reached: 10 of 10");

    s = next(next(s, new DestroyVm("vm1")).state(), new RemoveVm("vm1", "w1")).state();
    for (String id : List.of("vm2", "vm3")) {
      s = next(s, new Command.CreateFromSnapshot(id, "s1", "from-" + id, Ipv4.parse(id.equals("vm2") ? "10.77.0.2" : "10.77.0.3"),
          Ipv4.parse(id.equals("vm2") ? "203.0.113.2" : "203.0.113.3"), T0)).state();
      Vm made = s.vm(id).orElseThrow();
      assertThat(made.fromSnapshot()).isEqualTo("s1");
      assertThat(made.ownerId()).isEqualTo("u1");
      assertThat(made.workerId()).isEqualTo("w1");
    }
    assertThat(next(s, new Command.RemoveSnapshot("s1")).state().snapshotsOf("u1")).isEmpty();
    assertRejected(next(s, new Command.CreateFromSnapshot("vm4", "nope", "x", Ipv4.parse("10.77.0.4"), Ipv4.parse("203.0.113.4"), T0)),
        ErrorCode.NOT_FOUND, "no snapshot with id \"nope\"");
  }

  @Test
  void defaultQuotaIsTen() {
    ClusterState s = given(user("u1"), worker("w1"));
    for (int i = 1; i <= 10; i++) {
      s = next(s, vm("vm" + i, "u1", "vm-" + i, "10.77.0." + i, "203.0.113." + i)).state();
    }
    assertRejected(next(s, vm("vm11", "u1", "vm-11", "10.77.0.11", "203.0.113.11")), ErrorCode.RESOURCE_EXHAUSTED,
        "quota reached: 10 of 10 VMs (running, standby, hibernated and stopped all count)");
  }

  @Test
  void createVmChecksItsInputs() {
    assertRejected(next(base, vm("vm1", "u1", "App", "10.77.0.5")), ErrorCode.INVALID_ARGUMENT, "invalid VM name \"App\"");
    assertRejected(next(base, vm("vm1", "nobody", "app", "10.77.0.5")), ErrorCode.NOT_FOUND, "no user with id \"nobody\"");
    assertRejected(next(base, new CreateVm("vm1", "u1", "app", 0, 1024, 100, Ipv4.parse("10.77.0.5"),
        Ipv4.parse("203.0.113.1"), "w1", T0)), ErrorCode.INVALID_ARGUMENT, "0 vCPUs");
    assertRejected(next(base, new CreateVm("vm1", "u1", "app", 1, 1024, 100, Ipv4.parse("10.77.0.5"),
        Ipv4.parse("203.0.113.1"), "w9", T0)), ErrorCode.NOT_FOUND, "no worker with id \"w9\"");
    ClusterState one = next(base, vm("vm1", "u1", "app", "10.77.0.5")).state();
    assertRejected(next(one, vm("vm1", "u2", "db", "10.77.0.6")), ErrorCode.ALREADY_EXISTS, "a VM with id \"vm1\" already exists");
  }

  @Test
  void aRejectionChangesNothingButTheIndex() {
    Applied applied = next(base, vm("vm1", "nobody", "app", "10.77.0.5"));

    assertThat(applied.state().appliedIndex()).isEqualTo(base.appliedIndex() + 1);
    assertThat(applied.state().vms()).isEmpty();
    assertThat(Fsm.skip(base, base.appliedIndex() + 1)).isEqualTo(applied.state());
  }

  @Test
  void onlyTheVmsWorkerWritesObservedStateAndRemovesIt() {
    ClusterState s = given(user("u1"), worker("w1"), worker("w2"), vm("vm1", "u1", "app", "10.77.0.5"));
    VmObserved running = new VmObserved(VmStatus.RUNNING, 4242, "", T0.plusSeconds(1), 0);

    assertRejected(next(s, new ReportObserved("vm1", "w2", running)), ErrorCode.PERMISSION_DENIED,
        "worker \"w2\" may not write VM \"app\": it runs on worker \"w1\"");
    ClusterState reported = next(s, new ReportObserved("vm1", "w1", running)).state();
    assertThat(reported.vm("vm1").orElseThrow().observed()).isEqualTo(running);

    assertRejected(next(reported, new RemoveVm("vm1", "w1")), ErrorCode.FAILED_PRECONDITION, "VM \"app\" is not being destroyed");
    ClusterState destroying = next(reported, new DestroyVm("vm1")).state();
    assertRejected(next(destroying, new RemoveVm("vm1", "w2")), ErrorCode.PERMISSION_DENIED, "may not write");
    ClusterState removed = next(destroying, new RemoveVm("vm1", "w1")).state();
    assertThat(removed.vms()).isEmpty();
    assertThat(removed.vmByName("u1", "app")).isEmpty();
    assertThat(removed.usedIps()).isEmpty();
    assertThat(removed.vmsOnWorker("w1")).isEmpty();
  }

  @Test
  void desiredPowerAndReboot() {
    ClusterState s = given(user("u1"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5"));

    ClusterState paused = next(s, new SetDesiredPower("vm1", DesiredPower.STANDBY)).state();
    Vm rebooted = next(paused, new Reboot("vm1")).state().vm("vm1").orElseThrow();
    assertThat(rebooted.rebootSeq()).isEqualTo(1);
    assertThat(rebooted.desired()).isEqualTo(DesiredPower.RUNNING);

    ClusterState stopped = next(s, new SetDesiredPower("vm1", DesiredPower.STOPPED)).state();
    assertRejected(next(stopped, new Reboot("vm1")), ErrorCode.FAILED_PRECONDITION, "is stopped: start it");
    assertRejected(next(s, new SetDesiredPower("vm1", DesiredPower.DESTROYED)), ErrorCode.INVALID_ARGUMENT, "takes DestroyVm");

    ClusterState destroying = next(s, new DestroyVm("vm1")).state();
    assertRejected(next(destroying, new SetDesiredPower("vm1", DesiredPower.RUNNING)), ErrorCode.FAILED_PRECONDITION,
        "VM \"app\" is being destroyed");
    assertRejected(next(destroying, new Reboot("vm1")), ErrorCode.FAILED_PRECONDITION, "is being destroyed");
    assertThat(next(destroying, new DestroyVm("vm1")).result().isOk()).as("destroy is idempotent").isTrue();
    assertRejected(next(s, new Reboot("vm9")), ErrorCode.NOT_FOUND, "no VM with id \"vm9\"");
  }

  @Test
  void workersRegisterAgainKeepingTheirFirstRegistration() {
    ClusterState s = given(worker("w1"));
    Applied again = next(s, new Command.RegisterWorker("w1", "10.0.0.9:7000", 8, 16384, T0.plusSeconds(60)));

    assertThat(again.state().worker("w1")).contains(new Worker("w1", "10.0.0.9:7000", 8, 16384, T0));
    assertRejected(next(s, new Command.RegisterWorker("w2", "10.0.0.2:7000", 0, 1024, T0)), ErrorCode.INVALID_ARGUMENT,
        "invalid capacity for worker \"w2\"");
  }

  @Test
  void applyRefusesAnIndexThatIsNotAhead() {
    assertThatThrownBy(() -> Fsm.apply(base, base.appliedIndex(), user("u9")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not after the applied index");
  }

  @Test
  void orThrowTurnsARejectionIntoItsCode() {
    Result rejected = next(base, vm("vm1", "nobody", "app", "10.77.0.5")).result();

    assertThatThrownBy(rejected::orThrow)
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  static void assertRejected(Applied applied, ErrorCode code, String message) {
    assertThat(applied.result()).isInstanceOfSatisfying(Result.Rejected.class, rejected -> {
      assertThat(rejected.code()).isEqualTo(code);
      assertThat(rejected.message()).contains(message);
    });
  }
}
