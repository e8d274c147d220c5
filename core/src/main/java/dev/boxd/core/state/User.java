package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/** An account. Its identity is its SSH keys ({@link SshKey}); {@code maxVms} is its VM quota. */
public record User(String id, String name, Instant createdAt, int maxVms) {
  public User {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(createdAt, "createdAt");
  }

  User withMaxVms(int newMaxVms) {
    return new User(id, name, createdAt, newMaxVms);
  }
}
