package dev.boxd.api.grpc;

import dev.boxd.api.auth.TokenVerifier;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.Set;

/**
 * Lets a call in only with {@code authorization: Bearer <token>} that the {@link TokenVerifier}
 * accepts, and hands the service the operations of the user it names through the gRPC
 * {@link Context} ({@link BoxdApiService#CALLER}). It wraps the {@code BoxdApi} service alone:
 * server reflection stays open, so tools list the services without a token (the schema is public;
 * no data is behind it).
 *
 * <p>Exactly the calls that get a client its token ({@link #TOKENLESS}) go in without one, any
 * {@code authorization} header ignored (a client whose token expired exchanges again with it still
 * set); they get the caller's address ({@link #SOURCE}) instead of a user, since they are rate
 * limited by it.
 */
public final class AuthInterceptor implements ServerInterceptor {
  /** The caller's IP address, set for the {@link #TOKENLESS} calls. */
  public static final Context.Key<String> SOURCE = Context.key("boxd-source-address");
  /** The full names of the methods that need no token: what a client calls before it has one. */
  static final Set<String> TOKENLESS = Set.of(
      BoxdApiGrpc.getExchangeApiKeyMethod().getFullMethodName(),
      BoxdApiGrpc.getStartDeviceLoginMethod().getFullMethodName(),
      BoxdApiGrpc.getPollDeviceLoginMethod().getFullMethodName());
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final String HOW_TO_GET_ONE = "get a token for an API key with ExchangeApiKey or POST /api/v1/auth/token {\"api_key\":\"bxd_...\"}, and send it as"
      + " 'authorization: Bearer <token>'";

  private final TokenVerifier verifier;
  private final Callers callers;

  public AuthInterceptor(TokenVerifier verifier, Callers callers) {
    this.verifier = verifier;
    this.callers = callers;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (TOKENLESS.contains(call.getMethodDescriptor().getFullMethodName())) {
      String source = sourceOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
      return Contexts.interceptCall(Context.current().withValue(SOURCE, source), call, headers, next);
    }
    Operations caller;
    try {
      caller = callers.forUser(verifier.userIdOf(bearer(headers.get(AUTHORIZATION))));
    } catch (RuntimeException e) {
      call.close(ErrorStatus.of(e), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(BoxdApiService.CALLER, caller), call, headers, next);
  }

  /** The IP address of a peer; another transport's address (in-process) as it names itself. */
  static String sourceOf(SocketAddress peer) {
    if (peer instanceof InetSocketAddress address && address.getAddress() != null) {
      return address.getAddress().getHostAddress();
    }
    return peer == null ? "unknown" : peer.toString();
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
