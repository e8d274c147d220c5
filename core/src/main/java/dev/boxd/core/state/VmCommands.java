package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.Command.CreateVm;
import dev.boxd.core.state.Command.DestroyVm;
import dev.boxd.core.state.Command.ForkVm;
import dev.boxd.core.state.Command.Reboot;
import dev.boxd.core.state.Command.RemoveVm;
import dev.boxd.core.state.Command.ReportObserved;
import dev.boxd.core.state.Command.SetDesiredPower;

/**
 * The VM lifecycle. The control plane writes the spec, placement and desired state; the VM's
 * worker writes the observed state and finally removes the VM. One writer per field.
 */
final class VmCommands {
  private VmCommands() {}

  static Applied create(ClusterState s, CreateVm c) {
    if (c.vmId().isEmpty()) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "a VM id may not be empty");
    }
    if (s.vm(c.vmId()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "a VM with id " + quote(c.vmId()) + " already exists");
    }
    if (!Names.isValid(c.name())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid VM name " + quote(c.name())
          + ": expected 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
    }
    if (c.vcpus() <= 0 || c.memoryMib() <= 0 || c.diskGb() <= 0) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid size for VM " + quote(c.name()) + ": " + c.vcpus() + " vCPUs, "
          + c.memoryMib() + " MiB memory, " + c.diskGb() + " GB disk; expected at least 1 of each");
    }
    User owner = s.user(c.ownerId()).orElse(null);
    if (owner == null) {
      return reject(s, ErrorCode.NOT_FOUND, UserCommands.noUser(c.ownerId()));
    }
    if (s.vmByName(c.ownerId(), c.name()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "a VM named " + quote(c.name()) + " already exists");
    }
    if (s.vmByName(c.name()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "the name " + quote(c.name()) + " is taken: VM names are public host names ("
          + c.name() + ".<zone>); choose another", Result.Reason.NAME_TAKEN);
    }
    // Whether the worker holds the image is the proposer's to ask (images are files of a host, not
    // log state); the log refuses a name no image could have, so nothing is allocated for it.
    if (!c.image().isEmpty() && !dev.boxd.core.ImageNames.isValid(c.image())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid image name " + quote(c.image())
          + ": expected 1-40 characters of a-z, 0-9 and '-'");
    }
    String overQuota = Admission.quota(s, owner, c);
    if (overQuota != null) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, overQuota);
    }
    if (s.vmByIp(c.ip()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "address " + c.ip() + " is already in use", Result.Reason.ADDRESS_TAKEN);
    }
    if (s.publicIpsOf(c.ownerId()).contains(c.publicIp())) {
      return reject(s, ErrorCode.ALREADY_EXISTS,
          "public address " + c.publicIp() + " is already in use by another VM of this account", Result.Reason.ADDRESS_TAKEN);
    }
    Worker worker = s.worker(c.workerId()).orElse(null);
    if (worker == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no worker with id " + quote(c.workerId()));
    }
    String noRoom = Admission.workerMemory(s, worker, c);
    if (noRoom != null) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, noRoom);
    }
    return ok(s.withVm(new Vm(c.vmId(), c.ownerId(), c.name(), c.vcpus(), c.memoryMib(), c.diskGb(), c.ip(),
        c.publicIp(), c.workerId(), c.at(), DesiredPower.RUNNING, 0, VmObserved.initial(c.at()), "", Vm.DEFAULT_AUTO_SUSPEND_SECS, "",
        0, c.image(), c.isolated())));
  }

  /**
   * A copy of a live VM: same owner, size and worker as the source (memory and disk are copied
   * there), with its own id, name and addresses, under the same rules as a new VM.
   */
  static Applied fork(ClusterState s, ForkVm c) {
    Vm source = s.vm(c.sourceVmId()).orElse(null);
    if (source == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.sourceVmId()));
    }
    if (source.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, beingDestroyed(source));
    }
    if (source.desired() == DesiredPower.STOPPED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(source.name()) + " is stopped: there is nothing running to fork");
    }
    // isolation is the source's, decided here: no fork can drop it
    Applied created = create(s, new CreateVm(c.vmId(), source.ownerId(), c.name(), source.vcpus(), source.memoryMib(),
        source.diskGb(), c.ip(), c.publicIp(), source.workerId(), c.at(), source.image(), source.isolated()));
    if (!(created.result() instanceof Result.Ok)) {
      return created;
    }
    Vm child = created.state().vm(c.vmId()).orElseThrow();
    return ok(created.state().withVm(new Vm(child.id(), child.ownerId(), child.name(), child.vcpus(), child.memoryMib(),
        child.diskGb(), child.ip(), child.publicIp(), child.workerId(), child.createdAt(), child.desired(), child.rebootSeq(),
        child.observed(), source.id(), source.autoSuspendSecs(), "", 0, child.image(), child.isolated())));
  }

  static Applied setDesiredPower(ClusterState s, SetDesiredPower c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (c.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "destroying VM " + quote(vm.name()) + " takes DestroyVm, not SetDesiredPower");
    }
    if (vm.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, beingDestroyed(vm));
    }
    return ok(s.withVm(vm.withDesired(c.desired())));
  }

  static Applied reboot(ClusterState s, Reboot c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (vm.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, beingDestroyed(vm));
    }
    if (vm.desired() == DesiredPower.STOPPED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " is stopped: start it instead of rebooting");
    }
    return ok(s.withVm(vm.withReboot()));
  }

  static Applied destroy(ClusterState s, DestroyVm c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    // Its routes and forwards go at once: the name they answer for may soon be another's.
    return ok(s.withVm(vm.withDesired(DesiredPower.DESTROYED)).withoutEdgeOf(vm.id()));
  }

  /** A snapshot from an older log, saved before it was recorded. */
  static Applied addSnapshot(ClusterState s, Command.AddSnapshot c) {
    Snapshot snap = c.snapshot();
    Applied admitted = admitSnapshot(s, snap);
    return admitted.result() instanceof Result.Ok ? ok(s.withSnapshot(snap.withSaved(snap.bytes()))) : admitted;
  }

  /** A snapshot to save: its VM must be on the snapshot's worker and not going away. */
  static Applied saveSnapshot(ClusterState s, Command.SaveSnapshot c) {
    Snapshot snap = c.snapshot();
    Vm vm = s.vm(snap.sourceVmId()).orElse(null);
    if (vm == null || !vm.ownerId().equals(snap.ownerId())) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(snap.sourceVmId()));
    }
    if (vm.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + vm.name() + " is being destroyed");
    }
    if (!vm.workerId().equals(snap.workerId())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "VM " + vm.name() + " runs on worker " + quote(vm.workerId()) + ", not "
          + quote(snap.workerId()) + ": a snapshot is kept where its VM runs");
    }
    Applied admitted = admitSnapshot(s, snap);
    return admitted.result() instanceof Result.Ok ? ok(s.withSnapshot(new Snapshot(snap.id(), snap.ownerId(), snap.name(),
        snap.sourceVmId(), snap.sourceVmName(), snap.workerId(), snap.vcpus(), snap.memoryMib(), snap.diskGb(), snap.createdAt(),
        Snapshot.Status.SAVING, 0, vm.isolated()))) : admitted;
  }

  static Applied snapshotSaved(ClusterState s, Command.SnapshotSaved c) {
    Snapshot snap = s.snapshot(c.snapshotId()).orElse(null);
    if (snap == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no snapshot with id " + quote(c.snapshotId()) + " (removed while it was saved)");
    }
    if (!snap.workerId().equals(c.workerId())) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "snapshot " + snap.name() + " is kept on worker " + quote(snap.workerId())
          + ", not " + quote(c.workerId()));
    }
    if (snap.isSaved()) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "snapshot " + snap.name() + " is saved already");
    }
    return ok(s.withSnapshot(snap.withSaved(c.bytes())));
  }

  private static Applied admitSnapshot(ClusterState s, Snapshot snap) {
    if (snap.id().isEmpty() || s.snapshot(snap.id()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "a snapshot with id " + quote(snap.id()) + " already exists");
    }
    if (!Names.isValid(snap.name())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid snapshot name " + quote(snap.name())
          + ": expected 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
    }
    if (s.user(snap.ownerId()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, UserCommands.noUser(snap.ownerId()));
    }
    if (s.snapshotByName(snap.ownerId(), snap.name()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "a snapshot named " + quote(snap.name()) + " already exists");
    }
    int held = s.snapshotsOf(snap.ownerId()).size();
    if (held >= ClusterState.MAX_SNAPSHOTS) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, "snapshot limit reached: " + held + " of " + ClusterState.MAX_SNAPSHOTS
          + "; remove one with snapshot rm");
    }
    if (s.worker(snap.workerId()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, "no worker with id " + quote(snap.workerId()));
    }
    return ok(s);
  }

  static Applied removeSnapshot(ClusterState s, Command.RemoveSnapshot c) {
    if (s.snapshot(c.snapshotId()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, "no snapshot with id " + quote(c.snapshotId()));
    }
    return ok(s.withoutSnapshot(c.snapshotId()));
  }

  /** A new VM from a snapshot: the snapshot's owner, size and worker, under the rules of a new VM. */
  static Applied createFromSnapshot(ClusterState s, Command.CreateFromSnapshot c) {
    Snapshot snap = s.snapshot(c.snapshotId()).orElse(null);
    if (snap == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no snapshot with id " + quote(c.snapshotId()));
    }
    if (!snap.isSaved()) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "snapshot " + snap.name() + " is still being saved; try again when"
          + " snapshot list shows its size");
    }
    // the snapshot holds the disk and memory of its VM's image; its name is known while that VM is
    String image = s.vm(snap.sourceVmId()).map(Vm::image).orElse("");
    // an isolated VM's memory and disk stay isolated: the snapshot keeps the flag after its VM is gone
    boolean isolated = snap.isolated() || s.vm(snap.sourceVmId()).map(Vm::isolated).orElse(false);
    Applied created = create(s, new CreateVm(c.vmId(), snap.ownerId(), c.name(), snap.vcpus(), snap.memoryMib(), snap.diskGb(),
        c.ip(), c.publicIp(), snap.workerId(), c.at(), image, isolated));
    if (!(created.result() instanceof Result.Ok)) {
      return created;
    }
    Vm vm = created.state().vm(c.vmId()).orElseThrow();
    return ok(created.state().withVm(new Vm(vm.id(), vm.ownerId(), vm.name(), vm.vcpus(), vm.memoryMib(), vm.diskGb(), vm.ip(),
        vm.publicIp(), vm.workerId(), vm.createdAt(), vm.desired(), vm.rebootSeq(), vm.observed(), "", vm.autoSuspendSecs(),
        snap.id(), 0, vm.image(), vm.isolated())));
  }

  /** Longest idle timeout: 30 days. */
  static final int MAX_AUTO_SUSPEND_SECS = 30 * 24 * 3600;

  static Applied setAutoSuspend(ClusterState s, Command.SetAutoSuspend c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (c.seconds() < 0 || c.seconds() > MAX_AUTO_SUSPEND_SECS) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "auto-suspend timeout " + c.seconds() + " s: expected 0 (off) to "
          + MAX_AUTO_SUSPEND_SECS + " seconds");
    }
    if (vm.desired() == DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, beingDestroyed(vm));
    }
    return ok(s.withVm(vm.withAutoSuspend(c.seconds())));
  }

  static Applied idleSleep(ClusterState s, Command.IdleSleep c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (!vm.workerId().equals(c.workerId())) {
      return reject(s, ErrorCode.PERMISSION_DENIED, notItsWorker(vm, c.workerId()));
    }
    DesiredPower from = switch (c.power()) {
      case STANDBY -> DesiredPower.RUNNING;
      case HIBERNATED -> DesiredPower.STANDBY;
      default -> null;
    };
    if (from == null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "an idle VM goes to standby or hibernated, not " + c.power());
    }
    if (vm.desired() != from) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " is to be " + vm.desired().name().toLowerCase()
          + " now, not " + from.name().toLowerCase());
    }
    return ok(s.withVm(vm.withDesired(c.power())));
  }

  static Applied trafficWake(ClusterState s, Command.TrafficWake c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (!vm.workerId().equals(c.workerId())) {
      return reject(s, ErrorCode.PERMISSION_DENIED, notItsWorker(vm, c.workerId()));
    }
    if (vm.desired() != DesiredPower.STANDBY && vm.desired() != DesiredPower.HIBERNATED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " is not asleep");
    }
    return ok(s.withVm(vm.withDesired(DesiredPower.RUNNING)));
  }

  static Applied reportObserved(ClusterState s, ReportObserved c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (!vm.workerId().equals(c.workerId())) {
      return reject(s, ErrorCode.PERMISSION_DENIED, notItsWorker(vm, c.workerId()));
    }
    return ok(s.withVm(vm.withObserved(c.observed())));
  }

  static Applied remove(ClusterState s, RemoveVm c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, noVm(c.vmId()));
    }
    if (!vm.workerId().equals(c.workerId())) {
      return reject(s, ErrorCode.PERMISSION_DENIED, notItsWorker(vm, c.workerId()));
    }
    if (vm.desired() != DesiredPower.DESTROYED) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " is not being destroyed");
    }
    return ok(s.withoutEdgeOf(vm.id()).withoutVm(vm.id()));
  }

  private static String noVm(String vmId) {
    return "no VM with id " + quote(vmId);
  }

  private static String beingDestroyed(Vm vm) {
    return "VM " + quote(vm.name()) + " is being destroyed";
  }

  private static String notItsWorker(Vm vm, String workerId) {
    return "worker " + quote(workerId) + " may not write VM " + quote(vm.name()) + ": it runs on worker " + quote(vm.workerId());
  }
}
