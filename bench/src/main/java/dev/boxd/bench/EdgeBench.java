package dev.boxd.bench;

import dev.boxd.edge.http.EdgeConfig;
import dev.boxd.edge.http.EdgeServer;
import dev.boxd.edge.route.EdgeName;
import dev.boxd.edge.route.Route;
import dev.boxd.edge.route.VmConnector;
import dev.boxd.edge.tls.CertifiedKey;
import dev.boxd.edge.tls.LocalCa;
import dev.boxd.edge.tls.LocalCaSource;
import dev.boxd.edge.tls.TlsContexts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The edge's proxy alone, for bench/edge.sh: every {@code NAME.localhost} leads to a backend on
 * this host instead of a VM (the worker port's connect opens a plain socket to it), so the
 * benchmark measures the proxy, not a VM's CPU. Writes the CA, and one leaf and key for nginx to
 * present the same kind of certificate, into DIR.
 *
 * <p>Usage: EdgeBench HTTPS_PORT BACKEND_PORT DIR
 */
public final class EdgeBench {
  private EdgeBench() {
  }

  public static void main(String[] args) throws Exception {
    int httpsPort = Integer.parseInt(args[0]);
    int backendPort = Integer.parseInt(args[1]);
    Path dir = Path.of(args[2]);
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    Files.writeString(dir.resolve("ca.pem"), ca.certificatePem());
    CertifiedKey forNginx = ca.issue("bench.localhost");
    Files.writeString(dir.resolve("nginx.key"), forNginx.keyPem());
    Files.writeString(dir.resolve("nginx.crt"), forNginx.chainPem());
    VmConnector host = new VmConnector() {
      @Override
      public boolean isAwake(String vmId) {
        return true;
      }

      @Override
      public SocketChannel connect(Route route, Duration timeout) throws IOException {
        return SocketChannel.open(new InetSocketAddress("127.0.0.1", route.port()));
      }
    };
    var tls = new TlsContexts(new LocalCaSource(ca, name -> EdgeName.parse(name, "localhost").isPresent(), Clock.systemUTC()));
    EdgeConfig config = EdgeConfig.defaults("localhost", new InetSocketAddress("127.0.0.1", httpsPort), new InetSocketAddress("127.0.0.1", 0));
    EdgeServer edge = EdgeServer.start(config, name -> Optional.of(new Route("bench-" + name.vm(), name.vm(), backendPort)), host, tls);
    System.out.println("edge listening on 127.0.0.1:" + edge.httpsPort() + " (TLS: " + TlsContexts.provider() + ")");
    System.out.flush();
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      edge.close();
      stop.countDown();
    }));
    stop.await();
  }
}
