package dev.boxd.api.grpc;

import dev.boxd.api.auth.DeviceLogins;
import dev.boxd.api.auth.JwtTokens;
import dev.boxd.api.auth.TokenVerifier;
import dev.boxd.core.BoxdException;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.util.List;

/**
 * What an API server serves, the same in the real server and in tests: {@code BoxdApi} behind
 * the interceptor that names the caller (its requests checked to be the messages they claim
 * first: {@link RequestCheck}; with tokens, the calls that get one pass without: {@link Tokenless}),
 * and server reflection open to all. Both reflection versions are served: grpcurl asks {@code v1}
 * first, grpc_cli and Python's reflection client ask {@code v1alpha}.
 */
public final class ApiServices {
  /** Blocking operations of all calls at once; beyond it calls are refused with UNAVAILABLE. */
  public static final int MAX_CONCURRENT_OPERATIONS = 1024;

  private ApiServices() {}

  public static List<ServerServiceDefinition> of(Callers callers, TokenVerifier verifier) {
    return of(callers, verifier, Tokenless.NONE);
  }

  /** The API for callers with a token: the user the token names, acting through {@code callers}. */
  public static List<ServerServiceDefinition> of(Callers callers, TokenVerifier verifier, Tokenless tokenless) {
    return served(new AuthInterceptor(verifier, callers), tokenless);
  }

  /**
   * The API for callers known by their address (no token), at most {@code callsPerOwner} calls of
   * one account at once. Its service is an instance of its own, so its calls have their own
   * {@link #MAX_CONCURRENT_OPERATIONS}: what VMs run never starves the callers with tokens.
   */
  public static List<ServerServiceDefinition> byAddress(AddressCallers callers, int callsPerOwner) {
    return served(new AddressInterceptor(callers, callsPerOwner), NO_TOKEN_NEEDED);
  }

  @SuppressWarnings("deprecation") // v1alpha reflection: still what several clients speak
  private static List<ServerServiceDefinition> served(ServerInterceptor caller, Tokenless tokenless) {
    return List.of(
        RequestCheck.around(ServerInterceptors.intercept(new BoxdApiService(tokenless, MAX_CONCURRENT_OPERATIONS), caller)),
        ProtoReflectionServiceV1.newInstance().bindService(),
        ProtoReflectionService.newInstance().bindService());
  }

  // Callers known by their address are signed in already: a key or token would add nothing, and a
  // VM's authority over its owner's account should not outlive it (no keys from inside, as over SSH).
  static final String NEEDS_NO_TOKEN = "callers here are known by their address and need no token or key: call the API directly";
  static final Tokenless NO_TOKEN_NEEDED = new Tokenless() {
    @Override
    public JwtTokens.Issued exchange(String apiKey, String source) {
      throw BoxdException.precondition(NEEDS_NO_TOKEN);
    }

    @Override
    public DeviceLogins.Started startDeviceLogin(DeviceLogins.Request request, String source) {
      throw BoxdException.precondition(NEEDS_NO_TOKEN);
    }

    @Override
    public DeviceLogins.Polled pollDeviceLogin(String pollToken, String source) {
      throw BoxdException.precondition(NEEDS_NO_TOKEN);
    }
  };
}
