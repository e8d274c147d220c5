package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/** An account. Its identity is its SSH keys ({@link SshKey}); {@code quota} is what it may hold. */
public record User(String id, String name, Instant createdAt, Quota quota) {
  public User {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(quota, "quota");
  }

  /** How many VMs the account may hold. */
  public int maxVms() {
    return quota.maxVms();
  }

  User withQuota(Quota newQuota) {
    return new User(id, name, createdAt, newQuota);
  }
}
