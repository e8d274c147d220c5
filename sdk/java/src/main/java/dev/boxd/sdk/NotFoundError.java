package dev.boxd.sdk;

import io.grpc.Status;

/** The VM, snapshot, proxy or file does not exist (or is not yours). Code {@code NOT_FOUND}. */
public class NotFoundError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public NotFoundError(String message, Throwable cause) {
    super(Status.Code.NOT_FOUND, message, cause);
  }
}
