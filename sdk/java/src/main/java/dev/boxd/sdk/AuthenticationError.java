package dev.boxd.sdk;

import io.grpc.Status;

/** The API key or token was refused: unknown, revoked or expired. Code {@code UNAUTHENTICATED}. */
public class AuthenticationError extends BoxdError {
  private static final long serialVersionUID = 1L;

  public AuthenticationError(String message, Throwable cause) {
    super(Status.Code.UNAUTHENTICATED, message, cause);
  }
}
