package dev.boxd.sdk;

import dev.boxd.api.v1.DeleteSnapshotRequest;
import dev.boxd.api.v1.ListSnapshotsRequest;
import dev.boxd.api.v1.SaveSnapshotRequest;
import java.util.List;

/** Named snapshots (memory and disk) of your VMs; {@code CreateOptions.fromSnapshot} restores one. */
public final class Snapshots {
  private final Rpc rpc;

  Snapshots(Rpc rpc) {
    this.rpc = rpc;
  }

  /** Snapshots the VM (it pauses meanwhile) under {@code name}. */
  public Snapshot create(String vmId, String name) {
    // Writing a VM's memory and disk can take longer than a plain call's 30 s on a loaded server.
    return Snapshot.of(rpc.call(Rpc.BOOTING, api -> api.saveSnapshot(SaveSnapshotRequest.newBuilder().setVmId(vmId).setName(name).build())));
  }

  public List<Snapshot> list() {
    return rpc.unary(api -> api.listSnapshots(ListSnapshotsRequest.getDefaultInstance())).getSnapshotsList().stream()
        .map(Snapshot::of).toList();
  }

  /** The snapshot called {@code name}; {@link NotFoundError} if there is none. */
  public Snapshot get(String name) {
    return list().stream().filter(s -> s.name().equals(name)).findFirst()
        .orElseThrow(() -> new NotFoundError("snapshot '" + name + "' not found", null));
  }

  public void delete(String name) {
    rpc.unary(api -> api.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setName(name).build()));
  }
}
