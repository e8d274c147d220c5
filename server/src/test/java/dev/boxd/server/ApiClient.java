package dev.boxd.server;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.testkit.server.ServerProcess;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A gRPC client of a test's server, as a program using the API is one: TLS trusting the server's CA, a bearer token. */
final class ApiClient implements AutoCloseable {
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  final ManagedChannel channel;

  private ApiClient(ManagedChannel channel) {
    this.channel = channel;
  }

  /** A channel to {@code server}'s API; {@code authorization} is sent as is on every call (null: none). */
  static ApiClient connect(ServerProcess server, Path caFile, String authorization) throws IOException {
    var builder = NettyChannelBuilder.forAddress("localhost", server.apiPort)
        .sslContext(GrpcSslContexts.forClient().trustManager(caFile.toFile()).build())
        .maxInboundMessageSize(64 * 1024 * 1024);
    if (authorization != null) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, authorization);
      builder.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return new ApiClient(builder.build());
  }

  static ApiClient withToken(ServerProcess server, Path caFile, String token) throws IOException {
    return connect(server, caFile, "Bearer " + token);
  }

  BoxdApiGrpc.BoxdApiBlockingStub api() {
    return BoxdApiGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
  }

  /** The status a call ended with (OK if it did not fail). */
  static Status statusOf(Runnable call) {
    try {
      call.run();
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  /** The token the exchange gives for {@code apiKey}, over HTTPS with the server's CA. */
  static String exchange(ServerProcess server, Path caFile, String apiKey) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null);
    try (var pem = java.nio.file.Files.newInputStream(caFile)) {
      store.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, trust.getTrustManagers(), null);
    try (HttpClient http = HttpClient.newBuilder().sslContext(tls).build()) {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("https://localhost:" + server.httpsPort + "/api/v1/auth/token"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"api_key\":\"" + apiKey + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException("the token exchange answered " + response.statusCode() + ": " + response.body());
      }
      return dev.boxd.testkit.server.LiveServer.JSON.readTree(response.body()).path("token").asText();
    }
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
  }
}
