package dev.boxd.worker.reconcile;

import dev.boxd.worker.runtime.VmSpec;

/**
 * What the log says about one VM placed on this worker.
 *
 * @param rebootSeq incremented by each reboot request; the worker reboots when it has seen less
 */
public record DesiredVm(VmSpec spec, Power power, long rebootSeq) {
  public enum Power { RUNNING, STANDBY, STOPPED, DESTROYED }
}
