package dev.boxd.sdk;

import io.grpc.Status;

/** The thing exists already (ALREADY_EXISTS) or is in the wrong state for this (FAILED_PRECONDITION: resuming a running VM, say). */
public class ConflictError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public ConflictError(Status.Code code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
