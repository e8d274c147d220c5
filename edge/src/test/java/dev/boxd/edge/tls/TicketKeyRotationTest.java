package dev.boxd.edge.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.edge.http.EdgeConfig;
import dev.boxd.edge.http.EdgeServer;
import dev.boxd.edge.route.EdgeName;
import dev.boxd.edge.route.VmConnector;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Session tickets across a key rotation, as OpenSSL's client resumes them. */
class TicketKeyRotationTest {

  @Test
  void aTicketResumesAcrossOneRotationButNotTwo(@TempDir Path dir) throws Exception {
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    TlsContexts tls = new TlsContexts(new LocalCaSource(ca, n -> EdgeName.parse(n, "localhost").isPresent(), Clock.systemUTC()));
    assertThat(TlsContexts.provider()).as("BoringSSL serves the edge here").isEqualTo("OPENSSL_REFCNT");
    VmConnector none = new VmConnector() {
      @Override
      public boolean isAwake(String vmId) {
        return true;
      }

      @Override
      public java.nio.channels.SocketChannel connect(dev.boxd.edge.route.Route route, Duration timeout) throws java.io.IOException {
        throw new java.io.IOException("no VMs in this test");
      }
    };
    EdgeConfig config = EdgeConfig.defaults("localhost", new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0));
    try (EdgeServer edge = EdgeServer.start(config, name -> Optional.empty(), none, tls)) {
      Path session = dir.resolve("session.pem");
      assertThat(handshake(edge.httpsPort(), "-sess_out", session)).contains("New,");
      assertThat(handshake(edge.httpsPort(), "-sess_in", session)).as("the same key").contains("Reused,");
      tls.rotateTicketKey();
      assertThat(handshake(edge.httpsPort(), "-sess_in", session)).as("the key before still decrypts").contains("Reused,");
      tls.rotateTicketKey();
      assertThat(handshake(edge.httpsPort(), "-sess_in", session)).as("two rotations later the ticket is refused").contains("New,");
    }
  }

  private static String handshake(int port, String sessionFlag, Path session) throws Exception {
    Process process = new ProcessBuilder(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "app.localhost",
        "-tls1_2", sessionFlag, session.toString())).redirectErrorStream(true).start();
    process.getOutputStream().close();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    process.waitFor();
    assertThat(Files.exists(session)).as(out).isTrue();
    return out;
  }
}
