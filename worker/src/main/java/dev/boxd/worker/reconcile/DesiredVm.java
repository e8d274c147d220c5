package dev.boxd.worker.reconcile;

import java.util.Optional;

import dev.boxd.worker.runtime.VmSpec;

/**
 * What the log says about one VM placed on this worker.
 *
 * @param rebootSeq incremented by each reboot request; the worker reboots when it has seen less
 * @param forkedFrom the VM it is a copy of; it is made by forking that VM, not from the image
 */
public record DesiredVm(VmSpec spec, Power power, long rebootSeq, Optional<String> forkedFrom) {
  public DesiredVm(VmSpec spec, Power power, long rebootSeq) {
    this(spec, power, rebootSeq, Optional.empty());
  }

  public enum Power { RUNNING, STANDBY, HIBERNATED, STOPPED, DESTROYED }
}
