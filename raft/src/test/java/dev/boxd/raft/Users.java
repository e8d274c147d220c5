package dev.boxd.raft;

import dev.boxd.core.state.Command;
import java.time.Instant;

/** Small commands for log tests: one account per write, named after its sequence number. */
final class Users {
  static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");

  private Users() {}

  static Command.CreateUser create(String id) {
    return new Command.CreateUser(id, "user-" + id.toLowerCase().replaceAll("[^a-z0-9]", "-"), AT, 10);
  }
}
