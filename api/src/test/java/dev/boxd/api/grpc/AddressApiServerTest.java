package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.ForkVmRequest;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.GetVmResponse;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The API served by source address over plaintext HTTP/2 on loopback, with real Netty and a real
 * gRPC client: the caller is whoever the address names, without a token; an address that is
 * nobody's and a refused caller are told so; one address's connections and one account's calls
 * are capped, and given back when they end.
 */
class AddressApiServerTest {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  private final AtomicReference<AddressCallers> who = new AtomicReference<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private AddressApiServer server;

  private AddressApiServer serve(AddressApiServer.Limits limits) throws Exception {
    server = AddressApiServer.start(ServerSocketChannel.open(), new InetSocketAddress(LOOPBACK, 0), source -> who.get().at(source), limits);
    return server;
  }

  private BoxdApiGrpc.BoxdApiBlockingStub stub() {
    ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(LOOPBACK, server.port())).usePlaintext().build();
    channels.add(channel);
    return BoxdApiGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void close() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  private static Status status(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call fails").isNotNull();
    return e.getStatus();
  }

  private static FakeOperations insideVm(String vm) {
    return new FakeOperations(FakeOperations.builder().vm(vm, "running").vm("sibling", "running").currentVm(vm)) {
      @Override
      public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
        calls.add("fork " + source);
        return new ForkView(view(name.orElse(source + "-fork"), "running"), source);
      }
    };
  }

  @Test
  void theCallerIsWhomTheSourceAddressNamesWithNoTokenAndItsOwnVmIsTheDefault() throws Exception {
    FakeOperations ops = insideVm("here");
    who.set(source -> source.equals(LOOPBACK) ? Optional.of(new AddressCallers.Caller("u-1", ops)) : Optional.empty());
    serve(AddressApiServer.Limits.DEFAULT);
    var stub = stub();

    assertThat(stub.whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo("u-1");
    assertThat(stub.listVms(ListVmsRequest.getDefaultInstance()).getVmsList()).extracting(v -> v.getName())
        .containsExactly("here", "sibling");
    assertThat(stub.getVm(GetVmRequest.getDefaultInstance()).getName()).as("GetVm without a VM: the caller's own").isEqualTo("here");
    assertThat(stub.getVm(GetVmRequest.newBuilder().setVmId("sibling").build()).getName()).isEqualTo("sibling");
    assertThat(stub.forkVm(ForkVmRequest.getDefaultInstance()).getForkedFrom()).isEqualTo("here");
    assertThat(ops.calls).containsExactly("whoami", "list", "info here", "info sibling", "fork here");

    Status exchange = status(() -> stub.exchangeApiKey(dev.boxd.api.v1.ExchangeApiKeyRequest.newBuilder().setApiKey("bxd_x").build()));
    assertThat(exchange.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(exchange.getDescription()).isEqualTo(ApiServices.NEEDS_NO_TOKEN);
  }

  @Test
  void anAddressThatIsNobodysIsUnauthenticatedAndARefusedCallerHearsWhy() throws Exception {
    who.set(source -> Optional.empty());
    serve(AddressApiServer.Limits.DEFAULT);
    var stub = stub();
    Status nobody = status(() -> stub.whoami(WhoamiRequest.getDefaultInstance()));
    assertThat(nobody.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(nobody.getDescription()).contains(LOOPBACK.getHostAddress() + " is not the address of a VM");

    who.set(source -> {
      throw new BoxdException(ErrorCode.PERMISSION_DENIED, "this VM is isolated");
    });
    Status refused = status(() -> stub.listVms(ListVmsRequest.getDefaultInstance()));
    assertThat(refused.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refused.getDescription()).isEqualTo("this VM is isolated");
  }

  @Test
  void oneAccountRunsAtMostItsCallsAtOnceAndGetsThemBackWhenTheyEnd() throws Exception {
    var release = new CountDownLatch(1);
    FakeOperations ops = new FakeOperations(FakeOperations.builder().vm("here", "running")) {
      @Override
      public VmView info(String vm) {
        calls.add("info " + vm);
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return existing(vm);
      }
    };
    who.set(source -> Optional.of(new AddressCallers.Caller("u-1", ops)));
    serve(new AddressApiServer.Limits(128, 256, 1));
    var slow = new CompletableFuture<GetVmResponse>();
    BoxdApiGrpc.newStub(stub().getChannel()).getVm(GetVmRequest.newBuilder().setVmId("here").build(), observer(slow));
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> ops.calls.contains("info here"));

    Status busy = status(() -> stub().whoami(WhoamiRequest.getDefaultInstance()));
    assertThat(busy.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(busy.getDescription()).contains("user u-1 run 1 calls at once");

    release.countDown();
    assertThat(slow.get(30, TimeUnit.SECONDS).getName()).isEqualTo("here");
    var stub = stub();
    Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> stub.whoami(WhoamiRequest.getDefaultInstance()).getUserId().equals("u-1"));
  }

  @Test
  void oneAddressHoldsAtMostItsConnectionsAndAClosedOneIsGivenBack() throws Exception {
    FakeOperations ops = insideVm("here");
    who.set(source -> Optional.of(new AddressCallers.Caller("u-1", ops)));
    serve(new AddressApiServer.Limits(1, 256, 256));
    var first = stub();
    assertThat(first.whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo("u-1"); // its connection stays open

    assertThat(status(() -> stub().whoami(WhoamiRequest.getDefaultInstance())).getCode()).as("a second connection is closed at once")
        .isEqualTo(Status.Code.UNAVAILABLE);

    ((ManagedChannel) first.getChannel()).shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    var later = stub();
    Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> later.whoami(WhoamiRequest.getDefaultInstance()).getUserId().equals("u-1"));
  }

  private static <T> StreamObserver<T> observer(CompletableFuture<T> result) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {
        result.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    };
  }
}
