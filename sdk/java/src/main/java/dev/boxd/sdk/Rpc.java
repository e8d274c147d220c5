package dev.boxd.sdk;

import dev.boxd.api.v1.BoxdApiGrpc;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The SDK's unary calls: a deadline on each (SPEC §12: 30 s; the calls that boot a VM get longer,
 * since a loaded server may take minutes), failures as {@link BoxdError}s naming the API's URL,
 * and one retry when the server says the token expired and a new one can be had.
 */
final class Rpc {
  static final Duration UNARY = Duration.ofSeconds(30);
  static final Duration BOOTING = Duration.ofSeconds(180);

  private final BoxdApiGrpc.BoxdApiBlockingStub blocking;
  private final BoxdApiGrpc.BoxdApiStub async;
  private final TokenSource tokens;
  private final String url;

  Rpc(BoxdApiGrpc.BoxdApiBlockingStub blocking, BoxdApiGrpc.BoxdApiStub async, TokenSource tokens, String url) {
    this.blocking = blocking;
    this.async = async;
    this.tokens = tokens;
    this.url = url;
  }

  <T> T unary(Function<BoxdApiGrpc.BoxdApiBlockingStub, T> call) {
    return call(UNARY, call);
  }

  <T> T call(Duration deadline, Function<BoxdApiGrpc.BoxdApiBlockingStub, T> call) {
    return retryingExpiredToken(() -> {
      try {
        return call.apply(blocking.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
      } catch (StatusRuntimeException e) {
        throw error(e);
      }
    });
  }

  /**
   * Runs {@code call} again once if it failed because its token expired. Only for calls that can
   * run again: a refused token fails a call before the server does anything, so the retry is safe
   * whenever the call's own input can be given again. The watch on the channel has dropped the
   * expired token already; the retry fetches a new one.
   */
  <T> T retryingExpiredToken(Supplier<T> call) {
    try {
      return call.get();
    } catch (AuthenticationError e) {
      if (tokensRenewable() && e.getCause() instanceof StatusRuntimeException s && BearerAuth.saysTokenExpired(s.getStatus())) {
        return call.get();
      }
      throw e;
    }
  }

  /** The stub for streaming calls, which take no deadline: their length is the data's. */
  BoxdApiGrpc.BoxdApiStub async() {
    return async;
  }

  /** The blocking stub without a deadline, for server streams read as iterators. */
  BoxdApiGrpc.BoxdApiBlockingStub blocking() {
    return blocking;
  }

  BoxdError error(StatusRuntimeException e) {
    return BoxdError.from(e, url);
  }

  BoxdError error(Throwable t) {
    if (t instanceof BoxdError e) {
      return e;
    }
    if (t instanceof StatusRuntimeException e) {
      return error(e);
    }
    return BoxdError.from(io.grpc.Status.fromThrowable(t).asRuntimeException(), url);
  }

  boolean tokensRenewable() {
    return tokens != null && tokens.renewable();
  }

  String url() {
    return url;
  }
}
