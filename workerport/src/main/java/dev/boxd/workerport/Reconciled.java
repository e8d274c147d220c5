package dev.boxd.workerport;

/**
 * What a worker did when asked to reconcile a VM now: the VMM's own timings of the VM's latest
 * pause and resume (whoever carried them out), in microseconds, 0 when there was none.
 */
public record Reconciled(long suspendMicros, long resumeMicros) {}
