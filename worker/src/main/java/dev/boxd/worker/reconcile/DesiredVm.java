package dev.boxd.worker.reconcile;

import java.util.Optional;

import dev.boxd.worker.runtime.VmSpec;

/**
 * What the log says about one VM placed on this worker.
 *
 * @param rebootSeq incremented by each reboot request; the worker reboots when it has seen less
 * @param forkedFrom the VM it is a copy of; it is made by forking that VM, not from the image
 * @param fromSnapshot the snapshot it starts from; it is made by restoring that, not from the image
 */
public record DesiredVm(VmSpec spec, Power power, long rebootSeq, Optional<String> forkedFrom, Optional<String> fromSnapshot) {
  public DesiredVm(VmSpec spec, Power power, long rebootSeq) {
    this(spec, power, rebootSeq, Optional.empty(), Optional.empty());
  }

  public DesiredVm(VmSpec spec, Power power, long rebootSeq, Optional<String> forkedFrom) {
    this(spec, power, rebootSeq, forkedFrom, Optional.empty());
  }

  public enum Power { RUNNING, STANDBY, HIBERNATED, STOPPED, DESTROYED }
}
