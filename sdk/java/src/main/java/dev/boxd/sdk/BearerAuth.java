package dev.boxd.sdk;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code authorization: Bearer <token>} on every call, fetched from the {@link TokenSource} when the
 * call is sent (on gRPC's executor: an exchange may block), and the token dropped when the server
 * answers that it expired, so the next call (or the SDK's one retry) carries a new one. The
 * credentials record the generation of the token a call carried in a holder the interceptor put in
 * the call's options: the interceptor alone sees the answer, the credentials alone the token.
 */
final class BearerAuth {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final CallOptions.Key<AtomicLong> GENERATION = CallOptions.Key.createWithDefault("boxd-token-generation", null);

  private final TokenSource tokens;

  BearerAuth(TokenSource tokens) {
    this.tokens = tokens;
  }

  /** Whether a refusal means the token expired (and a new one may work), as opposed to a bad key. */
  static boolean saysTokenExpired(Status status) {
    return status.getCode() == Status.Code.UNAUTHENTICATED && status.getDescription() != null
        && status.getDescription().toLowerCase(Locale.ROOT).contains("token expired");
  }

  CallCredentials credentials() {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        AtomicLong used = info.getCallOptions().getOption(GENERATION);
        executor.execute(() -> {
          try {
            TokenSource.Current current = tokens.current();
            if (used != null) {
              used.set(current.generation());
            }
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer " + current.token());
            applier.apply(headers);
          } catch (BoxdError e) {
            applier.fail(Status.fromCode(e.code()).withDescription("cannot get a token for the API key: " + e.getMessage()).withCause(e));
          } catch (RuntimeException e) {
            applier.fail(Status.UNAUTHENTICATED.withDescription("cannot get a token for the API key: " + e).withCause(e));
          }
        });
      }
    };
  }

  ClientInterceptor expiryWatch() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        AtomicLong used = new AtomicLong(-1);
        ClientCall<Q, R> call = next.newCall(method, options.withOption(GENERATION, used));
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onClose(Status status, Metadata trailers) {
                if (saysTokenExpired(status) && used.get() >= 0) {
                  tokens.expired(used.get());
                }
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
  }
}
