package dev.boxd.workerport;

/** Finds the port of a worker by its id (the id the log places VMs on). */
public interface Workers {

  /** Throws UNAVAILABLE when the worker cannot be reached from this node. */
  WorkerPort worker(String workerId);
}
