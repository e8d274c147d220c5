package dev.boxd.sdk;

import io.grpc.Status;

/** A request field was wrong (INVALID_ARGUMENT, OUT_OF_RANGE): the message names it and what was expected. */
public class InvalidArgumentError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentError(Status.Code code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
