package dev.boxd.worker.reconcile;

import dev.boxd.worker.runtime.VmSpec;

/** One step the worker takes to move a VM toward what the log asks for. */
public sealed interface Action {
  String vmId();

  record Create(VmSpec spec) implements Action {
    public String vmId() {
      return spec.id();
    }
  }

  /** Make the VM as a copy of the running VM {@code sourceVmId} (memory, disk, processes). */
  record Fork(VmSpec spec, String sourceVmId) implements Action {
    public String vmId() {
      return spec.id();
    }
  }

  /** Make the VM from snapshot {@code snapshotId}, saved on this worker. */
  record Restore(VmSpec spec, String snapshotId) implements Action {
    public String vmId() {
      return spec.id();
    }
  }

  record Start(String vmId) implements Action {}

  record Stop(String vmId) implements Action {}

  record Pause(String vmId) implements Action {}

  /** Wakes a VM from standby, or from hibernation (its memory restored from disk). */
  record Resume(String vmId) implements Action {}

  /** Saves the VM's memory to disk and ends its VMM. */
  record Hibernate(String vmId) implements Action {}

  record Reboot(String vmId, long rebootSeq) implements Action {}

  record Destroy(String vmId) implements Action {}

  /**
   * This host runs a VM the log does not place here. It is kept as it is and reported, never
   * destroyed on sight: a replica that is behind, or a log restored from an old backup, would
   * otherwise cost a user their disk. The operator decides (`boxd admin unclaimed`).
   */
  record Unclaimed(String vmId) implements Action {}

  /** The VM is gone from this worker: tell the log so its name and addresses are freed. */
  record ConfirmRemoved(String vmId) implements Action {}
}
