package dev.boxd.sdk;

import io.grpc.Status;

/** The caller may not do this (an isolated VM asking the in-VM API, a VM destroying itself). Code {@code PERMISSION_DENIED}. */
public class PermissionDeniedError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public PermissionDeniedError(String message, Throwable cause) {
    super(Status.Code.PERMISSION_DENIED, message, cause);
  }
}
