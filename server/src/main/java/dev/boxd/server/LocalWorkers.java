package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;

/** The worker of this process, reached by method call: the single-node wiring of {@link Workers}. */
record LocalWorkers(String workerId, WorkerPort port) implements Workers {

  @Override
  public WorkerPort worker(String id) {
    if (!workerId.equals(id)) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "worker " + id + " is not reachable from this node");
    }
    return port;
  }
}
