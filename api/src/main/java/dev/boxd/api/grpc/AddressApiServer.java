package dev.boxd.api.grpc;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code boxd.api.v1.BoxdApi} for callers known by their source address, without TLS or tokens:
 * for a private network whose rules make the source address an identity (the VM network, where a
 * VM cannot send from an address not its own). The same service, request checks, reflection and
 * per-connection limits as {@link ApiServer}, plus {@link Limits} on what one address and one
 * account may hold. It listens on a socket its caller made, unbound, wherever that socket has to
 * live (a socket keeps the network namespace it was made in), bound here to the address given.
 */
public final class AddressApiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AddressApiServer.class);

  /**
   * What callers may hold: connections from one address and from one account's addresses, and
   * calls of one account at once. HTTP/2 carries many calls on one connection, so the connection
   * limits can be small; an account's calls are as many as the in-VM CLI's verbs may be.
   */
  public record Limits(int connectionsPerAddress, int connectionsPerOwner, int callsPerOwner) {
    public static final Limits DEFAULT = new Limits(128, 256, 256);

    public Limits {
      if (connectionsPerAddress < 1 || connectionsPerOwner < 1 || callsPerOwner < 1) {
        throw new IllegalArgumentException("every limit must be at least 1: " + this);
      }
    }
  }

  private final Server server;
  private final EventLoopGroup accepting;
  private final EventLoopGroup serving;

  private AddressApiServer(Server server, EventLoopGroup accepting, EventLoopGroup serving) {
    this.server = server;
    this.accepting = accepting;
    this.serving = serving;
  }

  /**
   * Binds {@code unbound} to {@code address} and serves on it; the server owns the socket from
   * now on (closed with it, or here if the start fails).
   */
  public static AddressApiServer start(ServerSocketChannel unbound, InetSocketAddress address, AddressCallers callers, Limits limits)
      throws IOException {
    var connections = new ConnectionLimits(callers, limits.connectionsPerAddress(), limits.connectionsPerOwner());
    var used = new AtomicBoolean();
    EventLoopGroup accepting = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("address-api-accept", true), NioIoHandler.newFactory());
    EventLoopGroup serving = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("address-api", true), NioIoHandler.newFactory());
    var builder = ApiServer.withLimits(NettyServerBuilder.forAddress(address))
        .channelFactory(() -> {
          if (!used.compareAndSet(false, true)) {
            throw new IllegalStateException("the listening socket was given to Netty already");
          }
          return new AdmittingServerChannel(unbound, connections);
        })
        .bossEventLoopGroup(accepting)
        .workerEventLoopGroup(serving);
    ApiServices.byAddress(callers, limits.callsPerOwner()).forEach(builder::addService);
    Server server = builder.build();
    try {
      server.start();
    } catch (IOException | RuntimeException e) {
      server.shutdownNow();
      unbound.close();
      shutDown(accepting, serving);
      throw e;
    }
    log.info("gRPC API by source address on {}", server.getListenSockets());
    return new AddressApiServer(server, accepting, serving);
  }

  /** The port it listens on. */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    try {
      ApiServer.stop(server);
    } finally {
      shutDown(accepting, serving);
    }
  }

  // The event loops are the server's own (gRPC does not stop groups it was given).
  private static void shutDown(EventLoopGroup... groups) {
    for (EventLoopGroup group : groups) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
    for (EventLoopGroup group : groups) {
      group.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }
}
