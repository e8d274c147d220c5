package dev.boxd.workerport;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A command for a VM's guest: run by {@code /bin/sh -c} as user boxd in its home, with {@code env}
 * added to the environment.
 *
 * @param tty empty for pipes (stdout and stderr apart), else a terminal of that size and type
 * @param timeout when it fires the guest kills the process group and the exit code is 124
 */
public record GuestCommand(String command, Map<String, String> env, Optional<Tty> tty, Optional<Duration> timeout) {

  /** A pseudo-terminal: its initial window and its {@code TERM}. */
  public record Tty(int rows, int cols, String term) {}

  public GuestCommand {
    Objects.requireNonNull(command, "command");
    env = Map.copyOf(env);
    Objects.requireNonNull(tty, "tty");
    Objects.requireNonNull(timeout, "timeout");
  }

  public static GuestCommand of(String command) {
    return new GuestCommand(command, Map.of(), Optional.empty(), Optional.empty());
  }

  public GuestCommand withEnv(Map<String, String> newEnv) {
    return new GuestCommand(command, newEnv, tty, timeout);
  }

  public GuestCommand withTimeout(Optional<Duration> newTimeout) {
    return new GuestCommand(command, env, tty, newTimeout);
  }

  public GuestCommand withTty(Tty newTty) {
    return new GuestCommand(command, env, Optional.of(newTty), timeout);
  }
}
