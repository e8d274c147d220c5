package dev.boxd.sdk;

import io.grpc.Status;

/** A quota or a rate was exceeded (too many VMs, token requests, a message too large). Code {@code RESOURCE_EXHAUSTED}. */
public class RateLimitError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public RateLimitError(String message, Throwable cause) {
    super(Status.Code.RESOURCE_EXHAUSTED, message, cause);
  }
}
