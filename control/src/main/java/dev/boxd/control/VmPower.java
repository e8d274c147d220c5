package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations.VmView;
import dev.boxd.workerport.WorkerPort;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * A VM's power: pause and resume, hibernate, stop, start, reboot, and its idle timeout. Each is
 * written to the log and then carried out by the VM's worker at once, except the fast path of
 * pause and resume: a running VM is frozen (a frozen one continued) by its worker first and the
 * log is told after, as a wake by traffic is, so the caller's VM is frozen or running again
 * within the VMM's own time, and the figure the caller sees is that time.
 */
final class VmPower {
  private final AccountScope scope;

  VmPower(AccountScope scope) {
    this.scope = scope;
  }

  long pause(String name) {
    Vm vm = scope.findLiving(name);
    if (vm.desired() == DesiredPower.RUNNING) {
      OptionalLong micros = scope.workerOf(vm).pauseAheadOfLog(vm.id());
      if (micros.isPresent()) {
        record(vm, DesiredPower.STANDBY);
        return micros.getAsLong();
      }
    }
    return scope.setPower(vm, DesiredPower.STANDBY).suspendMicros(); // asleep, stopped or failed: the log decides
  }

  long resume(String name) {
    Vm vm = scope.findLiving(name);
    if (vm.desired() == DesiredPower.STANDBY) {
      OptionalLong micros = scope.workerOf(vm).resumeAheadOfLog(vm.id());
      if (micros.isPresent()) {
        record(vm, DesiredPower.RUNNING);
        return micros.getAsLong();
      }
    }
    return scope.setPower(vm, DesiredPower.RUNNING).resumeMicros(); // hibernated (a restore) and the rest: through the log
  }

  /**
   * Tells the log what the worker did ahead of it, then has the worker reconcile: it reports what
   * it observes, and if the log refused (the VM is being destroyed meanwhile), puts the VM back
   * where the log wants it before the refusal reaches the caller.
   */
  private void record(Vm vm, DesiredPower power) {
    WorkerPort worker = scope.workerOf(vm);
    Result result;
    try {
      result = scope.store().propose(new Command.SetDesiredPower(vm.id(), power));
    } finally {
      worker.recorded(vm.id());
    }
    long index = result instanceof Result.Ok ok ? ok.index() : scope.store().read().appliedIndex();
    worker.reconcileNow(vm.id(), index);
    result.orThrow();
  }

  VmView hibernate(String name) {
    Vm vm = scope.findLiving(name);
    if (vm.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + vm.name() + " is stopped: there is no memory to save");
    }
    scope.setPower(vm, DesiredPower.HIBERNATED);
    return scope.view(scope.reread(vm), 0);
  }

  VmView setAutoSuspend(String name, int seconds) {
    Vm vm = scope.findLiving(name);
    long index = scope.store().propose(new Command.SetAutoSuspend(vm.id(), seconds)).orThrow().index();
    return scope.view(scope.store().readAtLeast(index, Duration.ofSeconds(30)).vm(vm.id()).orElseThrow(), 0);
  }

  VmView reboot(String name) {
    Vm vm = scope.findLiving(name);
    long index = scope.store().propose(new Command.Reboot(vm.id())).orThrow().index();
    scope.workerOf(vm).reconcileNow(vm.id(), index);
    return scope.view(scope.reread(vm), 0);
  }

  VmView stop(String name) {
    Vm vm = scope.findLiving(name);
    scope.setPower(vm, DesiredPower.STOPPED);
    return scope.view(scope.reread(vm), 0);
  }

  VmView start(String name) {
    Vm vm = scope.findLiving(name);
    scope.setPower(vm, DesiredPower.RUNNING);
    return scope.view(scope.reread(vm), 0);
  }
}
