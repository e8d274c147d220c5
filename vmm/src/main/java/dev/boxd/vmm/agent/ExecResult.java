package dev.boxd.vmm.agent;

import java.nio.charset.StandardCharsets;

/** The captured outcome of a short command. */
public record ExecResult(int exitCode, byte[] stdout, byte[] stderr) {
  public String stdoutText() {
    return new String(stdout, StandardCharsets.UTF_8);
  }

  public String stderrText() {
    return new String(stderr, StandardCharsets.UTF_8);
  }

  public ExecResult orThrow(String what) {
    if (exitCode != 0) {
      throw new AgentException(what + " failed with exit code " + exitCode + ": " + stderrText().strip());
    }
    return this;
  }
}
