package dev.boxd.sdk;

/**
 * A piece of a streaming exec's output, or its end: {@link Kind#EXIT} comes last, with the exit code.
 *
 * @param data the bytes (empty for {@link Kind#EXIT})
 * @param exitCode meaningful for {@link Kind#EXIT} only
 */
public record OutputChunk(Kind kind, byte[] data, int exitCode) {
  public enum Kind { STDOUT, STDERR, EXIT }

  public boolean isStdout() {
    return kind == Kind.STDOUT;
  }

  public boolean isStderr() {
    return kind == Kind.STDERR;
  }

  public boolean isExit() {
    return kind == Kind.EXIT;
  }

  public String text() {
    return new String(data, java.nio.charset.StandardCharsets.UTF_8);
  }
}
