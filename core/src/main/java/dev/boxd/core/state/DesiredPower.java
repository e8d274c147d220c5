package dev.boxd.core.state;

/**
 * What the user asked a VM to be. Written only by the control plane; the VM's worker converges
 * the VM to it and reports what it sees as {@link VmObserved}.
 */
public enum DesiredPower {
  RUNNING,
  STANDBY,
  STOPPED,
  /** Memory saved to disk and the VMM gone (deeper than standby); woken by the same triggers. */
  HIBERNATED,
  /** The VM is to be deleted; its worker confirms with {@code RemoveVm} once it is gone. */
  DESTROYED
}
