package dev.boxd.sdk;

import dev.boxd.api.v1.ExecChunk;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command to run in a VM: as user {@code boxd} in {@code /home/boxd}, through a shell. Give it as
 * one shell line ({@code "ls -l | wc -l"}) or as an argv ({@code List.of("printf", "%s", "a b")}),
 * which is quoted so the program gets exactly those arguments.
 */
public final class ExecOptions {
  private final String command;
  private final Map<String, String> env;
  private final Duration timeout;
  private final byte[] stdin;

  private ExecOptions(Builder b) {
    if (b.command == null) {
      throw new IllegalArgumentException("an exec needs a command: ExecOptions.builder().command(\"...\")");
    }
    this.command = b.command;
    this.env = Map.copyOf(b.env);
    this.timeout = b.timeout;
    this.stdin = b.stdin;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A shell command line. */
  public static ExecOptions of(String command) {
    return builder().command(command).build();
  }

  /** An argv, quoted for the shell. */
  public static ExecOptions of(List<String> argv) {
    return builder().command(argv).build();
  }

  /** The shell command line that runs. */
  public String command() {
    return command;
  }

  public Map<String, String> env() {
    return env;
  }

  /** Null: no limit. */
  public Duration timeout() {
    return timeout;
  }

  /** Null: no stdin (it ends at once) for {@link Machines#exec}; streams write theirs. */
  public byte[] stdin() {
    return stdin == null ? null : stdin.clone();
  }

  ExecChunk.Builder firstChunk(String vm) {
    var first = ExecChunk.newBuilder().setVmId(vm).setCommand(command).putAllEnv(env);
    if (timeout != null) {
      first.setTimeoutSecs((int) Math.min(Integer.MAX_VALUE, Math.max(1, (timeout.toMillis() + 999) / 1000))); // whole seconds, rounded up
    }
    return first;
  }

  public static final class Builder {
    private String command;
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration timeout;
    private byte[] stdin;

    private Builder() {}

    public Builder command(String shellLine) {
      if (shellLine == null || shellLine.isBlank()) {
        throw new IllegalArgumentException("the command is empty: give a shell command line");
      }
      this.command = shellLine;
      return this;
    }

    public Builder command(List<String> argv) {
      this.command = ShellQuote.join(argv);
      return this;
    }

    public Builder env(String name, String value) {
      if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new IllegalArgumentException("an environment variable's name is letters, digits and _ (not starting with a digit), not '" + name + "'");
      }
      env.put(name, value);
      return this;
    }

    public Builder env(Map<String, String> variables) {
      variables.forEach(this::env);
      return this;
    }

    /** Kill the command after this long; it then exits 124. */
    public Builder timeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the exec timeout must be positive, not " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    public Builder stdin(byte[] stdin) {
      this.stdin = stdin.clone();
      return this;
    }

    public ExecOptions build() {
      return new ExecOptions(this);
    }
  }
}
