package dev.boxd.core.state;

/** What the VM's worker last saw (SPEC §4). Written only by that worker. */
public enum VmStatus {
  CREATING,
  BOOTING,
  RUNNING,
  STANDBY,
  HIBERNATED,
  STOPPED,
  FAILED,
  DESTROYING
}
