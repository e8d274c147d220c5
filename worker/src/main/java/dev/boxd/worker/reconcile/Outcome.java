package dev.boxd.worker.reconcile;

import java.util.List;

/**
 * What one reconcile pass did for a VM, for a caller waiting on it: the actions carried out and
 * the VMM timings of the latest pause and resume of the VM (whoever carried them out).
 */
public record Outcome(List<Action> actions, long suspendMicros, long resumeMicros) {}
