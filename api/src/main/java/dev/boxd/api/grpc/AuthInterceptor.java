package dev.boxd.api.grpc;

import dev.boxd.api.auth.TokenVerifier;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Locale;

/**
 * Lets a call in only with {@code authorization: Bearer <token>} that the {@link TokenVerifier}
 * accepts, and hands the service the user it names through the gRPC {@link Context}
 * ({@link #USER_ID}). It wraps the {@code BoxdApi} service alone: server reflection stays open, so
 * tools list the services without a token (the schema is public; no data is behind it).
 */
public final class AuthInterceptor implements ServerInterceptor {
  /** The caller's user id, set for every call this interceptor lets in. */
  public static final Context.Key<String> USER_ID = Context.key("boxd-user-id");
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final String HOW_TO_GET_ONE = "get a token with POST /api/v1/auth/token {\"api_key\":\"bxd_...\"} and send it as"
      + " 'authorization: Bearer <token>'";

  private final TokenVerifier verifier;

  public AuthInterceptor(TokenVerifier verifier) {
    this.verifier = verifier;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String userId;
    try {
      userId = verifier.userIdOf(bearer(headers.get(AUTHORIZATION)));
    } catch (RuntimeException e) {
      call.close(ErrorStatus.of(e), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(USER_ID, userId), call, headers, next);
  }

  /** The token of a {@code Bearer} header: the scheme in any case, one space, then the token. */
  static String bearer(String header) {
    if (header == null || header.isBlank()) {
      throw new BoxdException(ErrorCode.UNAUTHENTICATED, "this call needs a token and carries none: " + HOW_TO_GET_ONE);
    }
    String trimmed = header.strip();
    int space = trimmed.indexOf(' ');
    if (space < 0 || !trimmed.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer") || trimmed.substring(space).isBlank()) {
      throw new BoxdException(ErrorCode.UNAUTHENTICATED, "the authorization header is not 'Bearer <token>': " + HOW_TO_GET_ONE);
    }
    return trimmed.substring(space).strip();
  }
}
