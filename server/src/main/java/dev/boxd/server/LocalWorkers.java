package dev.boxd.server;

import dev.boxd.control.Workers;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.worker.reconcile.Outcome;
import dev.boxd.worker.reconcile.Reconciler;
import dev.boxd.worker.runtime.VmRuntime;
import java.time.Duration;

/** The worker of this process, reached by method call: the single-node wiring of {@link Workers}. */
record LocalWorkers(String workerId, VmRuntime runtime, Reconciler reconciler) implements Workers {
  private static final Duration INDEX_WAIT = Duration.ofSeconds(30);

  private void requireLocal(String id) {
    if (!workerId.equals(id)) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "worker " + id + " is not reachable from this node");
    }
  }

  @Override
  public VmRuntime runtime(String id) {
    requireLocal(id);
    return runtime;
  }

  @Override
  public Outcome reconcileNow(String id, String vmId, long index) {
    requireLocal(id);
    return reconciler.reconcileNow(vmId, index, INDEX_WAIT);
  }
}
