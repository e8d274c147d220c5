package dev.boxd.sdk;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;

/**
 * A failed call to boxd: the server's message (safe to show) and its gRPC status code. Callers
 * switch on the subclass or on {@link #code()}, never on the message. Codes without a subclass of
 * their own (INTERNAL, UNIMPLEMENTED, ...) are plain {@code BoxdError}s.
 */
public class BoxdError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;

  public BoxdError(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public BoxdError(Status.Code code, String message) {
    this(code, message, null);
  }

  /** The gRPC status code the server (or the transport) answered with. */
  public Status.Code code() {
    return code;
  }

  /** The error a raw stub's failure stands for, as the SDK's own calls throw it. */
  public static BoxdError from(StatusRuntimeException e) {
    return from(e, null);
  }

  /**
   * The error a raw stub's failure stands for; {@code apiUrl} (may be null) is named in the
   * message of connection failures, so the user knows which address to check.
   */
  public static BoxdError from(StatusRuntimeException e, String apiUrl) {
    Status status = e.getStatus();
    Status.Code code = status.getCode();
    String message = status.getDescription() == null || status.getDescription().isBlank()
        ? code.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
        : status.getDescription();
    return switch (code) {
      case NOT_FOUND -> new NotFoundError(message, e);
      case ALREADY_EXISTS, FAILED_PRECONDITION -> new ConflictError(code, message, e);
      case UNAUTHENTICATED -> new AuthenticationError(message, e);
      case PERMISSION_DENIED -> new PermissionDeniedError(message, e);
      case RESOURCE_EXHAUSTED -> new RateLimitError(message, e);
      case INVALID_ARGUMENT, OUT_OF_RANGE -> new InvalidArgumentError(code, message, e);
      case UNAVAILABLE, DEADLINE_EXCEEDED -> new APIConnectionError(code, connectionMessage(status, message, apiUrl), e);
      default -> new BoxdError(code, message, e);
    };
  }

  // What went wrong on the way to the server, and what to check: the transport's own messages
  // ("io exception", "UNAVAILABLE") say neither.
  private static String connectionMessage(Status status, String message, String apiUrl) {
    String where = apiUrl == null ? "the boxd API" : "the boxd API at " + apiUrl;
    if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      return where + " did not answer in time (" + message + "): check that the server is up and not overloaded, then retry";
    }
    Throwable cause = status.getCause();
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException || t instanceof CertificateException) {
        return "cannot make a TLS connection to " + where + " (" + t.getMessage() + "): check that the URL names the API's TLS port"
            + " (9443 by default; http:// for a plaintext one) and that its certificate is trusted: set BOXD_CA_CERT"
            + " (Boxd.builder().caCertificate) to the cluster's CA certificate (PEM) when it is not in the system's trust store";
      }
      if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
        return "cannot connect to " + where + " (" + t.getMessage() + "): check the host and port in BOXD_API_URL and that the"
            + " boxd server is running and reachable from here";
      }
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return "cannot resolve the host of " + where + " (" + t.getMessage() + "): check the host name in BOXD_API_URL";
      }
    }
    if (cause != null) {
      return where + " is unavailable (" + message + ": " + cause + "): check BOXD_API_URL and that the server is running";
    }
    // The server itself answered UNAVAILABLE (busy, no signing key yet): its message says what to do.
    return where + " is unavailable: " + message;
  }
}
