package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * A named memory-and-disk snapshot of a VM (SPEC §3, §5): it outlives the VM, any number of new
 * VMs start from it, and it is kept on the worker that ran the VM, where those VMs are placed.
 * Size is the VM's at the time. The log holds it from the moment it is asked for ({@link
 * Status#SAVING}); the worker saves it and records it {@link Status#SAVED} with its size on disk.
 * {@code isolated}: its VM was isolated, and so is every VM started from it (SPEC §12); the log
 * sets it from the VM when the snapshot is asked for, so it outlives the VM.
 */
public record Snapshot(String id, String ownerId, String name, String sourceVmId, String sourceVmName, String workerId,
    int vcpus, long memoryMib, long diskGb, Instant createdAt, Status status, long bytes, boolean isolated) {

  public enum Status { SAVING, SAVED }

  public Snapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(ownerId, "ownerId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(sourceVmId, "sourceVmId");
    Objects.requireNonNull(sourceVmName, "sourceVmName");
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(status, "status");
  }

  /** A snapshot of a VM that was not isolated. */
  public Snapshot(String id, String ownerId, String name, String sourceVmId, String sourceVmName, String workerId,
      int vcpus, long memoryMib, long diskGb, Instant createdAt, Status status, long bytes) {
    this(id, ownerId, name, sourceVmId, sourceVmName, workerId, vcpus, memoryMib, diskGb, createdAt, status, bytes, false);
  }

  /** A snapshot asked for and not yet saved. */
  public static Snapshot saving(String id, String ownerId, String name, String sourceVmId, String sourceVmName, String workerId,
      int vcpus, long memoryMib, long diskGb, Instant createdAt) {
    return new Snapshot(id, ownerId, name, sourceVmId, sourceVmName, workerId, vcpus, memoryMib, diskGb, createdAt, Status.SAVING, 0);
  }

  public boolean isSaved() {
    return status == Status.SAVED;
  }

  Snapshot withSaved(long savedBytes) {
    return new Snapshot(id, ownerId, name, sourceVmId, sourceVmName, workerId, vcpus, memoryMib, diskGb, createdAt, Status.SAVED,
        savedBytes, isolated);
  }
}
