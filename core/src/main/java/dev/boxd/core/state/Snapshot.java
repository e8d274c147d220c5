package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * A named memory-and-disk snapshot of a VM (SPEC §3, §5): it outlives the VM, any number of new
 * VMs start from it, and it is kept on the worker that ran the VM, where those VMs are placed.
 * Size is the VM's at the time.
 */
public record Snapshot(String id, String ownerId, String name, String sourceVmId, String sourceVmName, String workerId,
    int vcpus, long memoryMib, long diskGb, Instant createdAt) {

  public Snapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(ownerId, "ownerId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(sourceVmId, "sourceVmId");
    Objects.requireNonNull(sourceVmName, "sourceVmName");
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(createdAt, "createdAt");
  }
}
