package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import javax.net.ssl.SSLException;

/**
 * A failed call as the verbs report errors: the server's own code and message where it answered,
 * and for a server that did not, one line that names the URL and what to check (never a stack trace).
 */
final class ApiErrors {
  private ApiErrors() {}

  static BoxdException of(StatusRuntimeException e, String apiUrl) {
    Status status = e.getStatus();
    ErrorCode code = code(status.getCode());
    String message = status.getDescription();
    if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED || message == null
        || message.isBlank()) {
      message = unreachable(status, apiUrl);
    }
    return new BoxdException(code, message);
  }

  private static String unreachable(Status status, String apiUrl) {
    Throwable cause = rootCause(status.getCause());
    if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      return "the boxd API at " + apiUrl + " did not answer in time; check the server and try again";
    }
    if (cause instanceof ConnectException || cause instanceof java.net.SocketException && String.valueOf(cause.getMessage()).contains("refused")) {
      return "cannot reach the boxd API at " + apiUrl + ": connection refused. Is the server running there? (check --api-url)";
    }
    if (cause instanceof UnknownHostException || cause instanceof UnresolvedAddressException) {
      return "cannot reach the boxd API at " + apiUrl + ": unknown host. Check --api-url";
    }
    if (cause instanceof SSLException || cause instanceof java.security.cert.CertificateException) {
      return "cannot reach the boxd API at " + apiUrl + ": TLS failed (" + cause.getMessage()
          + "). For a server with its own CA, pass --ca-cert FILE (the server's `boxd ca`)";
    }
    String detail = status.getDescription() != null ? status.getDescription() : cause != null ? cause.toString() : status.getCode().name();
    return "cannot reach the boxd API at " + apiUrl + ": " + detail + " (check --api-url and that the server runs)";
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c != null && c.getCause() != null && c.getCause() != c) {
      if (c instanceof SSLException || c instanceof ConnectException) {
        return c;
      }
      c = c.getCause();
    }
    return c;
  }

  static ErrorCode code(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT, OUT_OF_RANGE -> ErrorCode.INVALID_ARGUMENT;
      case NOT_FOUND -> ErrorCode.NOT_FOUND;
      case ALREADY_EXISTS, ABORTED -> ErrorCode.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> ErrorCode.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> ErrorCode.RESOURCE_EXHAUSTED;
      case PERMISSION_DENIED -> ErrorCode.PERMISSION_DENIED;
      case UNAUTHENTICATED -> ErrorCode.UNAUTHENTICATED;
      case UNAVAILABLE, CANCELLED -> ErrorCode.UNAVAILABLE;
      case DEADLINE_EXCEEDED -> ErrorCode.DEADLINE_EXCEEDED;
      default -> ErrorCode.INTERNAL;
    };
  }
}
