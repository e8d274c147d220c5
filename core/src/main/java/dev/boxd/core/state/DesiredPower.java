package dev.boxd.core.state;

/**
 * What the user asked a VM to be. Written only by the control plane; the VM's worker converges
 * the VM to it and reports what it sees as {@link VmObserved}.
 */
public enum DesiredPower {
  RUNNING,
  STANDBY,
  STOPPED,
  /** The VM is to be deleted; its worker confirms with {@code RemoveVm} once it is gone. */
  DESTROYED
}
