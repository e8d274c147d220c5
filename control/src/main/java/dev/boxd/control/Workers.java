package dev.boxd.control;

import dev.boxd.worker.reconcile.Outcome;
import dev.boxd.worker.runtime.VmRuntime;

/**
 * How the control plane reaches workers for what cannot go through the log: the data plane
 * (exec, copy) and "do it now" hints whose result the caller waits for (a create, a pause). The
 * desired state itself is always written to the log first; a hint only makes the worker
 * reconcile that VM at once instead of on its own schedule.
 */
public interface Workers {
  VmRuntime runtime(String workerId);

  /** Has the worker reconcile {@code vmId} once it has applied {@code index}; returns what it did. */
  Outcome reconcileNow(String workerId, String vmId, long index);
}
