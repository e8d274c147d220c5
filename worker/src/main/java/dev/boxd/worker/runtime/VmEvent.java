package dev.boxd.worker.runtime;

import java.util.Optional;

/** A change of observed state, for the worker to record in the log. */
public record VmEvent(String vmId, VmState state, Optional<String> reason) {}
