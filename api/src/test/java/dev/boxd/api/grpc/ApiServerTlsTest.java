package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.UploadFileRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.testkit.FreePorts;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The API server on loopback over real TLS: trust through the CA, reflection without a token, limits, certificate renewal. */
class ApiServerTlsTest {
  private TestCa ca;
  private final AtomicReference<ServerCertificates.Certified> current = new AtomicReference<>();
  private ApiServer server;
  private ManagedChannel channel;
  private final FakeOperations ops = FakeOperations.builder().upload((vm, path, mode, data) -> data.transferTo(java.io.OutputStream.nullOutputStream()))
      .vm("app", "running").build();

  @BeforeEach
  void start() throws Exception {
    ca = new TestCa();
    current.set(ca.issue("localhost"));
    // Serves "localhost" (the default: a client dialing an address sends no name) and nothing else.
    ServerCertificates certificates = name -> name.equals("localhost") ? Optional.of(current.get()) : Optional.empty();
    server = ApiServer.start(new InetSocketAddress("127.0.0.1", FreePorts.tcp()), user -> ops, InProcessApi.TOKENS, certificates, "localhost");
    channel = channel();
  }

  private ManagedChannel channel() throws Exception {
    return NettyChannelBuilder.forAddress("localhost", server.port())
        .sslContext(GrpcSslContexts.forClient().trustManager(ca.certificate).build())
        .maxInboundMessageSize(200 * 1024 * 1024)
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  private BoxdApiGrpc.BoxdApiBlockingStub stub(ManagedChannel over) {
    return BoxdApiGrpc.newBlockingStub(over).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(InProcessApi.bearer(InProcessApi.GOOD_TOKEN)))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @Test
  void aClientTrustingTheCaCallsWithItsToken() {
    assertThat(stub(channel).whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo("u-1");
  }

  @Test
  void reflectionListsTheServiceWithoutAToken() throws Exception {
    var answer = new CompletableFuture<ServerReflectionResponse>();
    var requests = ServerReflectionGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).serverReflectionInfo(new StreamObserver<>() {
      @Override
      public void onNext(ServerReflectionResponse value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();
    assertThat(answer.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList()).extracting(s -> s.getName())
        .contains("boxd.api.v1.BoxdApi", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");
  }

  @Test
  void aHundredMegabyteRequestIsRefusedAndTheServerServesOn() throws Exception {
    var huge = UploadFileRequest.newBuilder().setVmId("app").setPath("big").setData(ByteString.copyFrom(new byte[100 * 1024 * 1024])).build();
    var refused = catchThrowableOfType(StatusRuntimeException.class, () -> stub(channel).uploadFile(huge));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(ops.calls).as("the operation never ran").isEmpty();
    assertThat(stub(channel).whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo("u-1");
    ManagedChannel fresh = channel();
    try {
      assertThat(stub(fresh).whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo("u-1");
    } finally {
      fresh.shutdownNow();
    }
  }

  @Test
  void aRenewedCertificateIsServedWithoutARestart() throws Exception {
    X509Certificate before = peerCertificate("localhost");
    assertThat(before).isEqualTo(current.get().chain().getFirst());
    current.set(ca.issue("localhost"));
    X509Certificate after = peerCertificate("localhost");
    assertThat(after).isEqualTo(current.get().chain().getFirst()).isNotEqualTo(before);
    assertThat(peerCertificate("elsewhere.example")).as("an unknown name gets the default").isEqualTo(after);
    assertThat(stub(channel).whoami(WhoamiRequest.getDefaultInstance()).getUserId()).as("the channel dialed before still calls").isEqualTo("u-1");
  }

  private X509Certificate peerCertificate(String serverName) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca.certificate);
    var trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trustManagers.getTrustManagers(), null);
    try (var socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      var parameters = socket.getSSLParameters();
      parameters.setServerNames(List.of(new SNIHostName(serverName)));
      parameters.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
      socket.setSoLinger(true, 0); // a reset: closing waits for no close_notify from the server
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }
}
