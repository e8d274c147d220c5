package dev.boxd.api.grpc;

import dev.boxd.api.auth.TokenVerifier;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC API over TLS (HTTP/2 only, as gRPC is): one Netty server on one address. The limits
 * keep one client from hurting the others: a message over {@link #MAX_MESSAGE_BYTES} fails its
 * call with RESOURCE_EXHAUSTED (files larger than that stream), a connection runs at most
 * {@link #MAX_CALLS_PER_CONNECTION} calls at once, and keepalive pings find peers that vanished
 * without a FIN, whose calls (an Exec left half-open) are then cancelled and their commands
 * killed. Deadlines are the client's (SPEC §12: unary calls within 30 s).
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
  public static final int MAX_CALLS_PER_CONNECTION = 128;
  static final int MAX_HEADER_BYTES = 16 * 1024;
  static final long KEEPALIVE_SECS = 30;
  static final long KEEPALIVE_TIMEOUT_SECS = 20;
  static final long IDLE_CONNECTION_MINUTES = 30;
  static final long HANDSHAKE_TIMEOUT_SECS = 10;

  private final Server server;

  private ApiServer(Server server) {
    this.server = server;
  }

  /**
   * Starts serving on {@code address}.
   *
   * @param defaultServerName the certificate's name for clients that send no SNI: the zone
   */
  public static ApiServer start(InetSocketAddress address, Callers callers, TokenVerifier verifier, ServerCertificates certificates,
      String defaultServerName) throws IOException {
    return start(address, callers, verifier, Tokenless.NONE, certificates, defaultServerName);
  }

  /** As above, with the calls that get a client its token. */
  public static ApiServer start(InetSocketAddress address, Callers callers, TokenVerifier verifier, Tokenless tokenless,
      ServerCertificates certificates, String defaultServerName) throws IOException {
    var builder = withLimits(NettyServerBuilder.forAddress(address))
        .sslContext(tls(certificates, defaultServerName))
        .handshakeTimeout(HANDSHAKE_TIMEOUT_SECS, TimeUnit.SECONDS);
    ApiServices.of(callers, verifier, tokenless).forEach(builder::addService);
    Server server = builder.build();
    try {
      server.start();
    } catch (IOException e) {
      if (e.getCause() instanceof BindException || e instanceof BindException) {
        throw dev.boxd.core.BoxdException.precondition("cannot listen on " + address + " for the gRPC API (" + e.getMessage()
            + "): free the port or choose another with --api=ADDRESS:PORT (--no-api: none)");
      }
      throw e;
    }
    log.info("gRPC API on {}", server.getListenSockets());
    return new ApiServer(server);
  }

  /** The limits every API server of boxd keeps (this one and {@link AddressApiServer}). */
  static NettyServerBuilder withLimits(NettyServerBuilder builder) {
    return builder
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .maxInboundMetadataSize(MAX_HEADER_BYTES)
        .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
        .keepAliveTime(KEEPALIVE_SECS, TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECS, TimeUnit.SECONDS)
        // Clients may ping as often as every 10 s, also between calls (an idle SDK keeps its channel warm).
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .maxConnectionIdle(IDLE_CONNECTION_MINUTES, TimeUnit.MINUTES);
  }

  // The JDK's TLS: its handshake session carries the client's SNI to the key manager (as Netty's
  // OpenSSL engine would too), and ALPN h2 is built in since JDK 9.
  private static SslContext tls(ServerCertificates certificates, String defaultServerName) throws SSLException {
    return GrpcSslContexts.configure(SslContextBuilder.forServer(new SniKeyManager(certificates, defaultServerName)), SslProvider.JDK)
        .build();
  }

  /** The port it listens on (useful when asked for port 0). */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    stop(server);
  }

  /** Stops a gRPC server: its calls get 5 s to end, then the rest are cancelled (their commands are killed). */
  static void stop(io.grpc.Server server) {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
