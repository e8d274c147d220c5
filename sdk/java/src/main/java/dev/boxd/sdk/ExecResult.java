package dev.boxd.sdk;

import java.nio.charset.StandardCharsets;

/** How a command ended and what it printed, stdout and stderr kept apart. */
public final class ExecResult {
  private final int exitCode;
  private final byte[] stdout;
  private final byte[] stderr;

  ExecResult(int exitCode, byte[] stdout, byte[] stderr) {
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** 0 on success; 124 when the exec's timeout killed the command. */
  public int exitCode() {
    return exitCode;
  }

  public boolean success() {
    return exitCode == 0;
  }

  /** Stdout as UTF-8 text. */
  public String stdout() {
    return new String(stdout, StandardCharsets.UTF_8);
  }

  /** Stderr as UTF-8 text. */
  public String stderr() {
    return new String(stderr, StandardCharsets.UTF_8);
  }

  public byte[] stdoutBytes() {
    return stdout.clone();
  }

  public byte[] stderrBytes() {
    return stderr.clone();
  }

  @Override
  public String toString() {
    return "ExecResult[exitCode=" + exitCode + ", stdout=" + stdout.length + " bytes, stderr=" + stderr.length + " bytes]";
  }
}
