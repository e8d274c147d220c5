package dev.boxd.worker.runtime;

/** Observed lifecycle state of a VM on this worker (SPEC §4). */
public enum VmState {
  CREATING,
  BOOTING,
  RUNNING,
  STANDBY,
  /** Memory saved to the VM's directory and no QEMU running; wakes with its processes intact. */
  HIBERNATED,
  STOPPED,
  FAILED,
  DESTROYING;

  /** The lower-case form the product shows ({@code running}, {@code standby}, ...). */
  public String label() {
    return name().toLowerCase();
  }
}
