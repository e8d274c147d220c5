package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Command.RegisterWorker;

/** Workers joining the cluster. */
final class WorkerCommands {
  private WorkerCommands() {}

  /** A worker registering again (after a restart, a move) keeps its original registration time. */
  static Applied register(ClusterState s, RegisterWorker c) {
    if (c.workerId().isEmpty()) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "a worker id may not be empty");
    }
    if (c.address().isEmpty()) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "worker " + quote(c.workerId()) + " has no address: expected HOST:PORT");
    }
    if (c.vcpus() <= 0 || c.memoryMib() <= 0) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid capacity for worker " + quote(c.workerId()) + ": "
          + c.vcpus() + " vCPUs and " + c.memoryMib() + " MiB; expected at least 1 of each");
    }
    var registeredAt = s.worker(c.workerId()).map(Worker::registeredAt).orElse(c.at());
    return ok(s.withWorker(new Worker(c.workerId(), c.address(), c.vcpus(), c.memoryMib(), registeredAt)));
  }
}
