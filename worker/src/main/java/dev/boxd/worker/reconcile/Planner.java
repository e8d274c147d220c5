package dev.boxd.worker.reconcile;

import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmState;
import java.util.List;
import java.util.Optional;

/**
 * The reconciler's brain, pure: from what the log wants and what this host has, the next steps
 * for one VM. Level-triggered — it looks only at the two states, never at what changed — so
 * running it again after a crash or on a duplicate event is always safe.
 */
public final class Planner {
  private Planner() {}

  /**
   * @param desired the VM as the log has it, empty if the log does not place it on this host
   * @param local the VM as this host runs it, empty if it has none
   * @param rebootSeqDone the last reboot request this worker carried out for the VM
   */
  public static List<Action> plan(Optional<DesiredVm> desired, Optional<VmInfo> local, long rebootSeqDone) {
    if (desired.isEmpty()) {
      return local.map(l -> List.<Action>of(new Action.Unclaimed(l.id()))).orElse(List.of());
    }
    DesiredVm want = desired.get();
    String id = want.spec().id();
    if (want.power() == DesiredVm.Power.DESTROYED) {
      return local.isPresent() ? List.of(new Action.Destroy(id), new Action.ConfirmRemoved(id)) : List.of(new Action.ConfirmRemoved(id));
    }
    if (local.isEmpty()) {
      Action make = want.forkedFrom().<Action>map(source -> new Action.Fork(want.spec(), source))
          .or(() -> want.fromSnapshot().map(snapshot -> new Action.Restore(want.spec(), snapshot)))
          .orElseGet(() -> new Action.Create(want.spec()));
      List<Action> create = new java.util.ArrayList<>(List.of(make));
      if (want.power() == DesiredVm.Power.STOPPED) {
        create.add(new Action.Stop(id));
      } else if (want.power() == DesiredVm.Power.STANDBY) {
        create.add(new Action.Pause(id));
      } else if (want.power() == DesiredVm.Power.HIBERNATED) {
        create.add(new Action.Hibernate(id));
      }
      return create;
    }
    VmState state = local.get().state();
    if (state == VmState.CREATING || state == VmState.BOOTING || state == VmState.DESTROYING) {
      return List.of(); // an operation is under way; look again when it settles
    }
    // Paused or resumed ahead of the log (a user's pause or resume, inbound traffic): the log is
    // about to say so; until then its older word must not undo it. Stopping still wins.
    if (local.get().aheadOfLog() && (state == VmState.RUNNING || state == VmState.STANDBY) && want.power() != DesiredVm.Power.STOPPED) {
      return List.of();
    }
    boolean rebootPending = want.rebootSeq() > rebootSeqDone;
    return switch (want.power()) {
      case RUNNING -> switch (state) {
        case RUNNING -> rebootPending ? List.of(new Action.Reboot(id, want.rebootSeq())) : List.of();
        case STANDBY, HIBERNATED -> rebootPending ? List.of(new Action.Reboot(id, want.rebootSeq())) : List.of(new Action.Resume(id));
        case STOPPED, FAILED -> List.of(new Action.Start(id));
        default -> List.of();
      };
      case STANDBY -> switch (state) {
        case RUNNING -> List.of(new Action.Pause(id));
        case STOPPED, FAILED -> List.of(new Action.Start(id), new Action.Pause(id));
        default -> List.of();
      };
      case HIBERNATED -> switch (state) {
        case RUNNING -> List.of(new Action.Hibernate(id));
        case STANDBY -> List.of(new Action.Hibernate(id));
        case STOPPED, FAILED -> List.of(new Action.Start(id), new Action.Hibernate(id));
        default -> List.of();
      };
      case STOPPED -> switch (state) {
        case RUNNING, STANDBY, HIBERNATED, FAILED -> List.of(new Action.Stop(id));
        default -> List.of();
      };
      case DESTROYED -> throw new IllegalStateException("handled above");
    };
  }
}
