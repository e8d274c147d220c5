package dev.boxd.api.grpc;

import dev.boxd.core.BoxdException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one mapping from failures to gRPC statuses: a {@link BoxdException}'s code is a gRPC code by
 * number ({@code core.ErrorCode}) and its message is safe to show; anything else is a bug, told
 * to the caller as INTERNAL without its details (which may name paths or hosts) and logged here.
 */
public final class ErrorStatus {
  private static final Logger log = LoggerFactory.getLogger(ErrorStatus.class);
  static final String INTERNAL_MESSAGE = "internal error on the boxd server; its log has the details";

  private ErrorStatus() {}

  public static Status of(Throwable failure) {
    if (failure instanceof BoxdException e) {
      String message = e.getMessage() == null || e.getMessage().isBlank() ? e.code().name().toLowerCase().replace('_', ' ') : e.getMessage();
      return Status.fromCodeValue(e.code().grpcStatus()).withDescription(message);
    }
    if (failure instanceof StatusRuntimeException e) {
      return e.getStatus();
    }
    if (failure instanceof StatusException e) {
      return e.getStatus();
    }
    log.error("an API call failed unexpectedly", failure);
    return Status.INTERNAL.withDescription(INTERNAL_MESSAGE);
  }

  /** The failure as the exception a {@code StreamObserver.onError} takes. */
  public static StatusRuntimeException exception(Throwable failure) {
    return of(failure).asRuntimeException();
  }
}
