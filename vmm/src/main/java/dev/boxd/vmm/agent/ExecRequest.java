package dev.boxd.vmm.agent;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A command for the guest to run through {@code /bin/sh -c}, as {@code user} in {@code cwd}
 * (the user's home when empty).
 *
 * @param tty empty for pipes (stdout and stderr apart), else the initial window size
 * @param timeout when it fires the guest kills the process group and the exit code is 124
 */
public record ExecRequest(String command, Map<String, String> env, String user, Optional<String> cwd,
    Optional<WindowSize> tty, Optional<String> term, Optional<Duration> timeout) {

  public record WindowSize(int rows, int cols) {}

  public static ExecRequest of(String command) {
    return new ExecRequest(command, Map.of(), "boxd", Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
  }

  public ExecRequest asUser(String newUser) {
    return new ExecRequest(command, env, newUser, cwd, tty, term, timeout);
  }

  public ExecRequest withEnv(Map<String, String> newEnv) {
    return new ExecRequest(command, newEnv, user, cwd, tty, term, timeout);
  }

  public ExecRequest withTimeout(Duration newTimeout) {
    return new ExecRequest(command, env, user, cwd, tty, term, Optional.ofNullable(newTimeout));
  }

  public ExecRequest withTty(WindowSize size, String newTerm) {
    return new ExecRequest(command, env, user, cwd, Optional.of(size), Optional.ofNullable(newTerm), timeout);
  }

  List<Map.Entry<String, String>> toEntries() {
    var entries = new java.util.ArrayList<Map.Entry<String, String>>();
    entries.add(Map.entry("cmd", command));
    env.forEach((k, v) -> entries.add(Map.entry("env", k + "=" + v)));
    entries.add(Map.entry("user", user));
    cwd.ifPresent(c -> entries.add(Map.entry("cwd", c)));
    tty.ifPresent(t -> {
      entries.add(Map.entry("tty", "1"));
      entries.add(Map.entry("rows", Integer.toString(t.rows())));
      entries.add(Map.entry("cols", Integer.toString(t.cols())));
    });
    term.ifPresent(t -> entries.add(Map.entry("term", t)));
    timeout.ifPresent(t -> entries.add(Map.entry("timeout_ms", Long.toString(t.toMillis()))));
    return entries;
  }
}
