package dev.boxd.sdk;

import io.grpc.Status;

/** The API could not be reached or did not answer (UNAVAILABLE, DEADLINE_EXCEEDED): refused connections, TLS failures, timeouts. The message names the URL and what to check; the call may be retried. */
public class APIConnectionError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public APIConnectionError(Status.Code code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
