package dev.boxd.core;

/**
 * The one table of error codes. Every surface maps from here: the JSON {@code error.code}, the
 * gRPC status of the same name, and the CLI exit code. Clients switch on codes, never on text.
 */
public enum ErrorCode {
  INVALID_ARGUMENT(2),
  NOT_FOUND(3),
  ALREADY_EXISTS(4),
  FAILED_PRECONDITION(5),
  RESOURCE_EXHAUSTED(6),
  PERMISSION_DENIED(7),
  UNAUTHENTICATED(8),
  UNAVAILABLE(9),
  DEADLINE_EXCEEDED(10),
  INTERNAL(1);

  private final int exitCode;

  ErrorCode(int exitCode) {
    this.exitCode = exitCode;
  }

  /** Process exit code a CLI returns for this error. */
  public int exitCode() {
    return exitCode;
  }
}
