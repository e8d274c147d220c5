package dev.boxd.sdk;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.ExchangeApiKeyRequest;
import dev.boxd.api.v1.ExchangeApiKeyResponse;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.GetVmResponse;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.api.v1.WhoamiResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A BoxdApi that answers the way the server does where the SDK's logic depends on it: tokens for
 * one API key, "token expired" for tokens the test expired, NOT_FOUND for unknown VMs, and an
 * exec that echoes its stdin (stdout) and reports on stderr.
 */
final class FakeApi extends BoxdApiGrpc.BoxdApiImplBase {
  static final String KEY = "bxd_" + "k".repeat(43);
  static final Context.Key<String> AUTHORIZATION = Context.key("authorization");

  final AtomicInteger exchanges = new AtomicInteger();
  final AtomicInteger bootLooks = new AtomicInteger();
  final Set<String> expiredTokens = ConcurrentHashMap.newKeySet();
  final List<String> authorizations = new CopyOnWriteArrayList<>();

  ServerInterceptor headers() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String auth = headers.get(BearerAuth.AUTHORIZATION);
        authorizations.add(call.getMethodDescriptor().getBareMethodName() + " " + auth);
        return Contexts.interceptCall(Context.current().withValue(AUTHORIZATION, auth), call, headers, next);
      }
    };
  }

  // The token check of the real server's interceptor, answered as it answers.
  private boolean refused(StreamObserver<?> observer) {
    String auth = AUTHORIZATION.get();
    if (auth == null || !auth.startsWith("Bearer ")) {
      observer.onError(Status.UNAUTHENTICATED.withDescription("this call needs a token and carries none").asRuntimeException());
      return true;
    }
    if (expiredTokens.contains(auth.substring(7))) {
      observer.onError(Status.UNAUTHENTICATED.withDescription("token expired: exchange your API key again").asRuntimeException());
      return true;
    }
    return false;
  }

  @Override
  public void exchangeApiKey(ExchangeApiKeyRequest request, StreamObserver<ExchangeApiKeyResponse> observer) {
    if (!request.getApiKey().equals(KEY)) {
      observer.onError(Status.UNAUTHENTICATED.withDescription("unknown API key").asRuntimeException());
      return;
    }
    int n = exchanges.incrementAndGet();
    observer.onNext(ExchangeApiKeyResponse.newBuilder().setToken("jwt-" + n)
        .setExpiresAt(Instant.now().plusSeconds(3600).getEpochSecond()).setUserId("usr_1").build());
    observer.onCompleted();
  }

  @Override
  public void whoami(WhoamiRequest request, StreamObserver<WhoamiResponse> observer) {
    if (refused(observer)) {
      return;
    }
    observer.onNext(WhoamiResponse.newBuilder().setUserId("usr_1").setName(AUTHORIZATION.get().substring(7)).build());
    observer.onCompleted();
  }

  @Override
  public void getVm(GetVmRequest request, StreamObserver<GetVmResponse> observer) {
    if (refused(observer)) {
      return;
    }
    if (request.getVmId().equals("booting") || request.getVmId().equals("stopped")) {
      // "booting" is running from its third look on; "stopped" stays stopped.
      String status = request.getVmId().equals("stopped") ? "stopped" : bootLooks.incrementAndGet() >= 3 ? "running" : "booting";
      observer.onNext(GetVmResponse.newBuilder().setVmId("vm_" + request.getVmId()).setName(request.getVmId()).setStatus(status).build());
      observer.onCompleted();
      return;
    }
    if (!request.getVmId().equals("app")) {
      observer.onError(Status.NOT_FOUND.withDescription("VM '" + request.getVmId() + "' not found").asRuntimeException());
      return;
    }
    observer.onNext(GetVmResponse.newBuilder().setVmId("vm_1").setName("app").setStatus("running").setVcpus(2)
        .setCreatedAt("2026-01-01T00:00:00Z").setIsolated(true).build());
    observer.onCompleted();
  }

  /** Echoes stdin to stdout as it comes; at stdin's end, "bye" on stderr and the exit code the command names. */
  @Override
  public StreamObserver<ExecChunk> exec(StreamObserver<ExecChunk> out) {
    if (refused(out)) {
      return new StreamObserver<>() {
        public void onNext(ExecChunk c) {}
        public void onError(Throwable t) {}
        public void onCompleted() {}
      };
    }
    return new StreamObserver<>() {
      boolean first = true;
      boolean ended;
      int exit;

      @Override
      public synchronized void onNext(ExecChunk chunk) {
        if (first) {
          first = false;
          exit = Integer.parseInt(chunk.getCommand().replaceAll("^exit ", "").strip());
          out.onNext(ExecChunk.newBuilder().setData(com.google.protobuf.ByteString.copyFromUtf8("env=" + chunk.getEnvMap()
              + " timeout=" + chunk.getTimeoutSecs() + "\n")).setIsStderr(true).build());
        }
        if (!chunk.getStdin().isEmpty()) {
          out.onNext(ExecChunk.newBuilder().setData(chunk.getStdin()).build());
        }
        if (chunk.getStdinEof()) {
          end();
        }
      }

      private void end() {
        if (!ended) {
          ended = true;
          out.onNext(ExecChunk.newBuilder().setData(com.google.protobuf.ByteString.copyFromUtf8("bye")).setIsStderr(true).build());
          if (exit != 0) {
            out.onNext(ExecChunk.newBuilder().setExitCode(exit).build());
          }
          out.onCompleted();
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public synchronized void onCompleted() {
        end();
      }
    };
  }
}
