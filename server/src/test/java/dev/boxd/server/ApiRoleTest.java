package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.FreePorts;
import dev.boxd.testkit.state.InMemoryStateStore;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API as the server starts it: TLS with the local CA's certificate for the zone, the one `boxd ca` prints. */
class ApiRoleTest {
  @TempDir
  Path data;

  @Test
  void servesTheZoneCertificateOfTheLocalCaAndChecksTokens() throws Exception {
    var tokens = (dev.boxd.api.auth.TokenVerifier) token -> {
      throw new BoxdException(ErrorCode.UNAUTHENTICATED, "no such token");
    };
    try (ApiRole api = ApiRole.start(data, new InetSocketAddress("127.0.0.1", FreePorts.tcp()), "localhost", new InMemoryStateStore(),
        user -> {
          throw new AssertionError("no caller gets in");
        }, tokens, dev.boxd.api.grpc.Tokenless.NONE, Clock.systemUTC())) {
      Path caFile = EdgeRole.caDir(data).resolve("ca.crt");
      assertThat(caFile).exists();
      ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", api.port())
          .sslContext(GrpcSslContexts.forClient().trustManager(caFile.toFile()).build()).build();
      try {
        var refused = catchThrowableOfType(StatusRuntimeException.class, () -> BoxdApiGrpc.newBlockingStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS).whoami(WhoamiRequest.getDefaultInstance()));
        // The TLS handshake with the CA's trust and the name "localhost" succeeded: the call reached the token check.
        assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(refused.getStatus().getDescription()).contains("POST /api/v1/auth/token");
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
