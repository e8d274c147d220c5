package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations.SnapshotView;
import java.util.List;

/**
 * Snapshots as log commands: a save is written to the log as saving, and the VM's worker saves it
 * and records it saved (or removes it, telling the caller why); a removal is written to the log
 * and the worker deletes the files. The caller waits for the worker in both cases.
 */
final class SnapshotOperations {
  private final AccountScope scope;

  SnapshotOperations(AccountScope scope) {
    this.scope = scope;
  }

  SnapshotView save(String vmRef, String name) {
    Names.requireValid("snapshot name", name);
    ClusterState state = scope.store().read();
    if (state.snapshotByName(scope.userId(), name).isPresent()) {
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "a snapshot named " + Names.quote(name) + " already exists");
    }
    if (state.snapshotsOf(scope.userId()).size() >= ClusterState.MAX_SNAPSHOTS) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "snapshot limit reached: " + ClusterState.MAX_SNAPSHOTS
          + " of " + ClusterState.MAX_SNAPSHOTS + "; remove one with snapshot rm");
    }
    Vm found = scope.findLiving(vmRef);
    if (found.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + found.name() + " is stopped: there is no memory to save");
    }
    // A hibernated VM's memory is on disk: wake it to save it.
    Vm vm = found.desired() == DesiredPower.HIBERNATED ? scope.usable(vmRef) : found;
    Snapshot asked = Snapshot.saving(scope.newId(), scope.userId(), name, vm.id(), vm.name(), vm.workerId(), vm.vcpus(),
        vm.memoryMib(), vm.diskGb(), scope.clock().instant());
    long index = scope.store().propose(new Command.SaveSnapshot(asked)).orThrow().index();
    scope.workerOf(vm).reconcileNow(vm.id(), index); // throws why, if the save failed
    Snapshot saved = scope.store().read().snapshot(asked.id()).filter(Snapshot::isSaved)
        .orElseThrow(() -> new BoxdException(ErrorCode.INTERNAL, "snapshot " + name + " of VM " + vm.name()
            + " was not saved (removed meanwhile, or its worker gave no reason: see the server log)"));
    return view(saved);
  }

  List<SnapshotView> list() {
    return scope.store().read().snapshotsOf(scope.userId()).stream().map(SnapshotOperations::view).toList();
  }

  void remove(String name) {
    Snapshot snapshot = scope.store().read().snapshotByName(scope.userId(), name)
        .orElseThrow(() -> BoxdException.notFound("no snapshot named " + Names.quote(name)));
    long index = scope.store().propose(new Command.RemoveSnapshot(snapshot.id())).orThrow().index();
    scope.workers().worker(snapshot.workerId()).reconcileSnapshotsNow(index);
  }

  private static SnapshotView view(Snapshot snapshot) {
    return new SnapshotView(snapshot.id(), snapshot.name(), snapshot.sourceVmName(), snapshot.createdAt().toString(), snapshot.bytes());
  }
}
