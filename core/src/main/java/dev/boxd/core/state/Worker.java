package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/** A host that runs VMs; {@code address} is where the control plane and other workers reach it. */
public record Worker(String id, String address, int vcpus, long memoryMib, Instant registeredAt) {
  public Worker {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(registeredAt, "registeredAt");
  }
}
