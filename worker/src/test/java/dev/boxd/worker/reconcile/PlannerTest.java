package dev.boxd.worker.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmSpec;
import dev.boxd.worker.runtime.VmState;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PlannerTest {
  static final VmSpec SPEC = new VmSpec("vm1", "app", "alice", new MachineShape(1, 1024), Ipv4.parse("10.77.0.2"));

  static Optional<DesiredVm> want(DesiredVm.Power power, long rebootSeq) {
    return Optional.of(new DesiredVm(SPEC, power, rebootSeq));
  }

  static Optional<VmInfo> have(VmState state) {
    return Optional.of(new VmInfo("vm1", "app", "alice", state, SPEC.ip(), SPEC.ip().derivedMac(), 42, Optional.empty()));
  }

  @Test
  void createsWhatIsMissingAndRemovesWhatIsUnknown() {
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), Optional.empty(), 0)).containsExactly(new Action.Create(SPEC));
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), Optional.empty(), 0)).containsExactly(new Action.Create(SPEC), new Action.Stop("vm1"));
    // A VM the log does not know is kept and reported, never destroyed: the log may be behind.
    assertThat(Planner.plan(Optional.empty(), have(VmState.RUNNING), 0)).containsExactly(new Action.Unclaimed("vm1"));
    assertThat(Planner.plan(Optional.empty(), Optional.empty(), 0)).isEmpty();
  }

  @Test
  void aForkIsMadeFromItsSource() {
    var fork = Optional.of(new DesiredVm(SPEC, DesiredVm.Power.RUNNING, 0, Optional.of("src")));
    assertThat(Planner.plan(fork, Optional.empty(), 0)).containsExactly(new Action.Fork(SPEC, "src"));
    assertThat(Planner.plan(fork, have(VmState.RUNNING), 0)).as("made once, then like any VM").isEmpty();
  }

  @Test
  void hibernationIsReachedFromAnyLiveStateAndLeftByResume() {
    assertThat(Planner.plan(want(DesiredVm.Power.HIBERNATED, 0), have(VmState.RUNNING), 0)).containsExactly(new Action.Hibernate("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.HIBERNATED, 0), have(VmState.STANDBY), 0)).containsExactly(new Action.Hibernate("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.HIBERNATED, 0), have(VmState.HIBERNATED), 0)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), have(VmState.HIBERNATED), 0)).containsExactly(new Action.Resume("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.STANDBY, 0), have(VmState.HIBERNATED), 0)).as("already asleep").isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), have(VmState.HIBERNATED), 0)).containsExactly(new Action.Stop("vm1"));
  }

  @Test
  void aVmWokenByTrafficIsNotPutBackToSleepBeforeTheLogSaysSo() {
    var woken = Optional.of(new VmInfo("vm1", "app", "alice", VmState.RUNNING, SPEC.ip(), SPEC.ip().derivedMac(), 42, Optional.empty(), true));
    assertThat(Planner.plan(want(DesiredVm.Power.STANDBY, 0), woken, 0)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.HIBERNATED, 0), woken, 0)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STANDBY, 0), have(VmState.RUNNING), 0)).containsExactly(new Action.Pause("vm1"));
  }

  @Test
  void aVmPausedAheadOfTheLogStaysPausedUntilTheLogSaysSoButIsStillStopped() {
    var paused = Optional.of(new VmInfo("vm1", "app", "alice", VmState.STANDBY, SPEC.ip(), SPEC.ip().derivedMac(), 42, Optional.empty(), true));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), paused, 0)).as("the user's pause, not yet in the log").isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), paused, 0)).containsExactly(new Action.Stop("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), have(VmState.STANDBY), 0)).containsExactly(new Action.Resume("vm1"));
  }

  @Test
  void destroyedIsRemovedThenConfirmed() {
    assertThat(Planner.plan(want(DesiredVm.Power.DESTROYED, 0), have(VmState.STANDBY), 0))
        .containsExactly(new Action.Destroy("vm1"), new Action.ConfirmRemoved("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.DESTROYED, 0), Optional.empty(), 0)).containsExactly(new Action.ConfirmRemoved("vm1"));
  }

  @Test
  void convergedIsQuietAndBusyIsLeftAlone() {
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 3), have(VmState.RUNNING), 3)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STANDBY, 0), have(VmState.STANDBY), 0)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), have(VmState.STOPPED), 0)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), have(VmState.BOOTING), 0)).isEmpty();
  }

  @Test
  void powerTransitions() {
    assertThat(Planner.plan(want(DesiredVm.Power.STANDBY, 0), have(VmState.RUNNING), 0)).containsExactly(new Action.Pause("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), have(VmState.STANDBY), 0)).containsExactly(new Action.Resume("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), have(VmState.STOPPED), 0)).containsExactly(new Action.Start("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 0), have(VmState.FAILED), 0)).containsExactly(new Action.Start("vm1"));
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 0), have(VmState.STANDBY), 0)).containsExactly(new Action.Stop("vm1"));
  }

  @Test
  void rebootHappensOncePerRequest() {
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 2), have(VmState.RUNNING), 1)).containsExactly(new Action.Reboot("vm1", 2));
    assertThat(Planner.plan(want(DesiredVm.Power.RUNNING, 2), have(VmState.RUNNING), 2)).isEmpty();
    assertThat(Planner.plan(want(DesiredVm.Power.STOPPED, 2), have(VmState.STOPPED), 1)).as("a stopped VM is not rebooted").isEmpty();
  }

  @Test
  void everyPairOfStatesHasAPlanAndPlanningIsStable() {
    for (DesiredVm.Power power : DesiredVm.Power.values()) {
      for (VmState state : VmState.values()) {
        List<Action> first = Planner.plan(want(power, 1), have(state), 0);
        assertThat(Planner.plan(want(power, 1), have(state), 0)).isEqualTo(first);
      }
    }
  }
}
