package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.api.auth.DeviceLogins;
import dev.boxd.api.auth.JwtTokens;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.ExchangeApiKeyRequest;
import dev.boxd.api.v1.GetSshConfigRequest;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.api.v1.PollDeviceLoginRequest;
import dev.boxd.api.v1.StartDeviceLoginRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which calls go in without a token (exactly the three that get one), and what they are handed instead of a user. */
class TokenlessCallsTest {
  private InProcessApi api;

  @AfterEach
  void close() throws Exception {
    if (api != null) {
      api.close();
    }
  }

  /** Records what it was asked, from which source. */
  private static final class Recording implements Tokenless {
    final List<String> calls = new ArrayList<>();

    @Override
    public synchronized JwtTokens.Issued exchange(String apiKey, String source) {
      calls.add("exchange " + apiKey + " from " + source);
      if (apiKey.equals("bogus")) {
        throw new BoxdException(ErrorCode.UNAUTHENTICATED, "unknown API key");
      }
      return new JwtTokens.Issued("jwt", Instant.ofEpochSecond(1_800_000_000L), "u-7");
    }

    @Override
    public synchronized DeviceLogins.Started startDeviceLogin(DeviceLogins.Request request, String source) {
      calls.add("start " + request.publicKey() + " " + request.deviceName() + " from " + source);
      return new DeviceLogins.Started("https://boxd.test/register?code=ABCD2345", "ABCD2345", "poll-me", Instant.ofEpochSecond(1_800_000_000L), 2);
    }

    @Override
    public synchronized DeviceLogins.Polled pollDeviceLogin(String pollToken, String source) {
      calls.add("poll " + pollToken + " from " + source);
      throw BoxdException.notFound("no login in progress for this token: run `boxd auth login` again");
    }
  }

  @Test
  void theThreeTokenlessCallsNeedNoTokenAndIgnoreABadOne() throws Exception {
    var tokenless = new Recording();
    api = new InProcessApi(FakeOperations.builder().build(), tokenless);
    var anonymous = BoxdApiGrpc.newBlockingStub(api.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    var expired = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(InProcessApi.bearer("expired")));

    var issued = anonymous.exchangeApiKey(ExchangeApiKeyRequest.newBuilder().setApiKey("bxd_x").build());
    assertThat(issued.getToken()).isEqualTo("jwt");
    assertThat(issued.getExpiresAt()).isEqualTo(1_800_000_000L);
    assertThat(issued.getUserId()).isEqualTo("u-7");
    var started = expired.startDeviceLogin(StartDeviceLoginRequest.newBuilder().setPublicKey("ssh-ed25519 AAAA").setDeviceName("laptop").build());
    assertThat(started.getUrl()).isEqualTo("https://boxd.test/register?code=ABCD2345");
    assertThat(started.getCode()).isEqualTo("ABCD2345");
    assertThat(started.getPollToken()).isEqualTo("poll-me");
    assertThat(started.getIntervalSecs()).isEqualTo(2);
    var gone = catchThrowableOfType(StatusRuntimeException.class,
        () -> anonymous.pollDeviceLogin(PollDeviceLoginRequest.newBuilder().setPollToken("old").build()));
    assertThat(gone.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(gone.getStatus().getDescription()).contains("boxd auth login");
    var refused = catchThrowableOfType(StatusRuntimeException.class,
        () -> anonymous.exchangeApiKey(ExchangeApiKeyRequest.newBuilder().setApiKey("bogus").build()));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);

    // In process there is no IP address: the transport's own name for the peer stands for it.
    assertThat(tokenless.calls).hasSize(4).allSatisfy(call -> assertThat(call).containsPattern(" from \\S+$").doesNotEndWith(" from unknown"));
    assertThat(tokenless.calls.getFirst()).startsWith("exchange bxd_x from ");
    assertThat(tokenless.calls.get(1)).startsWith("start ssh-ed25519 AAAA laptop from ");
  }

  @Test
  void everyOtherCallStillNeedsAToken() throws Exception {
    api = new InProcessApi(FakeOperations.builder().build(), new Recording());
    var anonymous = BoxdApiGrpc.newBlockingStub(api.channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    for (Runnable call : List.<Runnable>of(
        () -> anonymous.whoami(WhoamiRequest.getDefaultInstance()),
        () -> anonymous.getSshConfig(GetSshConfigRequest.getDefaultInstance()),
        () -> anonymous.listDir(ListDirRequest.newBuilder().setVmId("app").build()))) {
      var e = catchThrowableOfType(StatusRuntimeException.class, call::run);
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(e.getStatus().getDescription()).contains("ExchangeApiKey");
    }
  }

  /** Straight at the interceptor, for every method of the service: the exempt ones are named, all others are refused. */
  @Test
  void theInterceptorExemptsExactlyTheThreeByName() {
    var interceptor = new AuthInterceptor(InProcessApi.TOKENS, user -> {
      throw new AssertionError("operations asked for " + user + " without a token");
    });
    Set<String> passed = BoxdApiGrpc.getServiceDescriptor().getMethods().stream()
        .filter(method -> {
          var call = new ClosableCall(method);
          boolean[] reached = {false};
          ServerCallHandler<Object, Object> next = (c, h) -> {
            reached[0] = true;
            assertThat(AuthInterceptor.SOURCE.get()).isEqualTo("198.51.100.7");
            assertThat(BoxdApiService.CALLER.get()).isNull();
            return new ServerCall.Listener<>() {};
          };
          interceptor.interceptCall(call, new Metadata(), next);
          assertThat(reached[0] || call.closed != null).as(method.getFullMethodName()).isTrue();
          if (!reached[0]) {
            assertThat(call.closed.getCode()).as(method.getFullMethodName()).isEqualTo(Status.Code.UNAUTHENTICATED);
          }
          return reached[0];
        })
        .map(MethodDescriptor::getBareMethodName)
        .collect(Collectors.toSet());
    assertThat(passed).containsExactlyInAnyOrder("ExchangeApiKey", "StartDeviceLogin", "PollDeviceLogin");
  }

  @Test
  void theSourceIsTheIpAddressOfThePeer() {
    assertThat(AuthInterceptor.sourceOf(new InetSocketAddress("203.0.113.5", 40000))).isEqualTo("203.0.113.5");
    assertThat(AuthInterceptor.sourceOf(new InetSocketAddress("::1", 40000))).isEqualTo("0:0:0:0:0:0:0:1");
    assertThat(AuthInterceptor.sourceOf(null)).isEqualTo("unknown");
  }

  /** A call from 198.51.100.7 that only records how it was closed. */
  private static final class ClosableCall extends ServerCall<Object, Object> {
    private final MethodDescriptor<Object, Object> method;
    Status closed;

    @SuppressWarnings("unchecked")
    ClosableCall(MethodDescriptor<?, ?> method) {
      this.method = (MethodDescriptor<Object, Object>) method;
    }

    @Override
    public void request(int numMessages) {}

    @Override
    public void sendHeaders(Metadata headers) {}

    @Override
    public void sendMessage(Object message) {}

    @Override
    public void close(Status status, Metadata trailers) {
      closed = status;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public MethodDescriptor<Object, Object> getMethodDescriptor() {
      return method;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.newBuilder().set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, new InetSocketAddress("198.51.100.7", 5555)).build();
    }
  }
}
