package dev.boxd.core;

/**
 * The one table of error codes. Every surface maps from here: the JSON {@code error.code}, the
 * gRPC status, the HTTP status and the CLI exit code. Clients switch on codes, never on text.
 *
 * <p>The names are gRPC's canonical status names, so a code is the same word on every surface;
 * the numbers are gRPC's canonical ones (google.rpc.Code) and HTTP statuses follow the mapping
 * published with them (FAILED_PRECONDITION is 400, not 409: the caller must change the state or
 * the request, a plain retry will not do). Exit codes are boxd's own and never change: scripts
 * depend on them; 124 stays free for {@code exec --timeout}.
 */
public enum ErrorCode {
  //                exit  gRPC  HTTP
  INVALID_ARGUMENT(2, 3, 400),
  NOT_FOUND(3, 5, 404),
  ALREADY_EXISTS(4, 6, 409),
  FAILED_PRECONDITION(5, 9, 400),
  RESOURCE_EXHAUSTED(6, 8, 429),
  PERMISSION_DENIED(7, 7, 403),
  UNAUTHENTICATED(8, 16, 401),
  UNAVAILABLE(9, 14, 503),
  DEADLINE_EXCEEDED(10, 4, 504),
  INTERNAL(1, 13, 500);

  private final int exitCode;
  private final int grpcStatus;
  private final int httpStatus;

  ErrorCode(int exitCode, int grpcStatus, int httpStatus) {
    this.exitCode = exitCode;
    this.grpcStatus = grpcStatus;
    this.httpStatus = httpStatus;
  }

  /** Process exit code a CLI returns for this error. */
  public int exitCode() {
    return exitCode;
  }

  /** gRPC status name, e.g. {@code NOT_FOUND}: the enum's own name. */
  public String grpcName() {
    return name();
  }

  /** gRPC status number (google.rpc.Code), e.g. 5 for {@code NOT_FOUND}. */
  public int grpcStatus() {
    return grpcStatus;
  }

  /** HTTP status an HTTP surface answers with, e.g. 404 for {@code NOT_FOUND}. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The {@code error.code} of JSON output: the same word as the gRPC status. */
  public String jsonCode() {
    return name();
  }
}
