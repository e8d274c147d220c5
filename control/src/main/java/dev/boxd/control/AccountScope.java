package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.core.net.EgressTraffic;
import dev.boxd.verbs.Operations.VmView;
import dev.boxd.workerport.Reconciled;
import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * What every part of one account's operations shares: the account, the log, the workers, and how
 * a VM is found by its name or id among the account's VMs only (another owner's VM is never found).
 *
 * @param callerVmId the VM the caller is inside of (the in-VM gateway's callers), empty for other surfaces
 */
record AccountScope(String userId, Optional<String> callerVmId, StateStore store, Workers workers, ControlConfig config, Clock clock) {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** What the default image is called where a VM is shown (a named image shows its name). */
  private static final String DEFAULT_IMAGE = "debian-12";

  /** By name or id, among this account's VMs only. */
  Vm find(String nameOrId) {
    if (nameOrId == null || nameOrId.isEmpty()) {
      throw BoxdException.invalid("missing VM name");
    }
    ClusterState state = store.read();
    return state.vmByName(userId, nameOrId)
        .or(() -> state.vm(nameOrId).filter(v -> v.ownerId().equals(userId)))
        .orElseThrow(() -> BoxdException.notFound("no VM named " + Names.quote(nameOrId)));
  }

  /** A VM that exists and is not being destroyed. */
  Vm findLiving(String nameOrId) {
    Vm vm = find(nameOrId);
    if (vm.desired() == DesiredPower.DESTROYED) {
      throw BoxdException.precondition("VM " + vm.name() + " is being destroyed");
    }
    return vm;
  }

  /** A VM to run something in: a sleeping one is woken first, as any inbound traffic would; a stopped one is refused. */
  Vm usable(String nameOrId) {
    Vm vm = findLiving(nameOrId);
    if (vm.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + vm.name() + " is stopped; start it first");
    }
    if (vm.desired() == DesiredPower.STANDBY || vm.desired() == DesiredPower.HIBERNATED) {
      setPower(vm, DesiredPower.RUNNING);
      return reread(vm);
    }
    return vm;
  }

  Vm reread(Vm vm) {
    return store.read().vm(vm.id()).orElseThrow(() -> BoxdException.notFound("VM " + vm.name() + " no longer exists"));
  }

  WorkerPort workerOf(Vm vm) {
    return workers.worker(vm.workerId());
  }

  /** Writes the VM's new power to the log and waits for its worker to carry it out. */
  Reconciled setPower(Vm vm, DesiredPower power) {
    long index = store.propose(new Command.SetDesiredPower(vm.id(), power)).orThrow().index();
    return workerOf(vm).reconcileNow(vm.id(), index);
  }

  String newId() {
    byte[] bytes = new byte[8];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** A name no VM of the account has: {@code vm-} and six hex digits. */
  String freshName() {
    ClusterState state = store.read();
    byte[] bytes = new byte[3];
    while (true) {
      RANDOM.nextBytes(bytes);
      String candidate = "vm-" + HexFormat.of().formatHex(bytes);
      if (state.vmByName(userId, candidate).isEmpty() && state.vmByName(candidate).isEmpty()) {
        return candidate;
      }
    }
  }

  /**
   * What the VM exchanged with the internet, from its worker; empty while no worker runs it (it is
   * being made, or destroyed) or its worker cannot be reached, which is no reason to fail the
   * caller's look at the VM.
   */
  Optional<EgressTraffic> egressOf(Vm vm) {
    try {
      return Optional.of(workerOf(vm).egressTraffic(vm.id()));
    } catch (BoxdException e) {
      if (e.code() != ErrorCode.NOT_FOUND && e.code() != ErrorCode.UNAVAILABLE) {
        throw e;
      }
      return Optional.empty();
    }
  }

  VmView view(Vm vm, long bootTimeMs) {
    String status = vm.desired() == DesiredPower.DESTROYED ? "destroying" : vm.observed().status().name().toLowerCase(Locale.ROOT);
    return new VmView(vm.id(), vm.name(), status, vm.ip().toString(), vm.publicIp().toString(),
        vm.hasDefaultImage() ? DEFAULT_IMAGE : vm.image(),
        "https://" + vm.name() + "." + config.zone(), bootTimeMs, vm.vcpus(), (int) vm.memoryMib(), (int) vm.diskGb(),
        vm.createdAt().toString(), vm.autoSuspendSecs(), vm.observed().detail()).withSsh(sshCommand(vm)).withIsolated(vm.isolated());
  }

  /** How to log into the VM over its own SSH port; empty for a VM made before VMs had one. */
  String sshCommand(Vm vm) {
    return vm.hasSshPort() ? "ssh -p " + vm.sshPort() + " boxd@" + domainOf(vm) : "";
  }

  /** {@code NAME.<zone>}: the VM's public host name. */
  String domainOf(Vm vm) {
    return vm.name() + "." + config.zone();
  }

  /** A source of random choices (ports) for proposals. */
  java.util.random.RandomGenerator random() {
    return RANDOM;
  }
}
