package dev.boxd.api.grpc;

import dev.boxd.api.auth.TokenVerifier;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.util.List;

/**
 * What the API server serves, the same in the real server and in tests: {@code BoxdApi} behind
 * the token check (its requests checked to be the messages they claim first: {@link RequestCheck};
 * the calls that get a token pass without one: {@link Tokenless}),
 * and server reflection without one. Both reflection versions are served: grpcurl
 * asks {@code v1} first, grpc_cli and Python's reflection client ask {@code v1alpha}.
 */
public final class ApiServices {
  /** Blocking operations of all calls at once; beyond it calls are refused with UNAVAILABLE. */
  public static final int MAX_CONCURRENT_OPERATIONS = 1024;

  private ApiServices() {}

  public static List<ServerServiceDefinition> of(Callers callers, TokenVerifier verifier) {
    return of(callers, verifier, Tokenless.NONE);
  }

  @SuppressWarnings("deprecation") // v1alpha reflection: still what several clients speak
  public static List<ServerServiceDefinition> of(Callers callers, TokenVerifier verifier, Tokenless tokenless) {
    return List.of(
        RequestCheck.around(ServerInterceptors.intercept(new BoxdApiService(callers, tokenless, MAX_CONCURRENT_OPERATIONS),
            new AuthInterceptor(verifier))),
        ProtoReflectionServiceV1.newInstance().bindService(),
        ProtoReflectionService.newInstance().bindService());
  }
}
