package dev.boxd.edge.http;

import dev.boxd.edge.route.RouteTable;
import dev.boxd.edge.route.VmConnector;
import dev.boxd.edge.tls.EdgeSniHandler;
import dev.boxd.edge.tls.TlsContexts;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTPS proxy in front of every VM: TLS by server name, HTTP/1.1 and HTTP/2 to clients,
 * HTTP/1.1 to the VM's port; plain HTTP answers with a redirect to HTTPS. Listens on the
 * configured addresses and, as {@link #listenOn} says, on more (the VMs' public addresses).
 *
 * <p>NIO, not epoll: a connection to a VM comes from the worker port as a JDK {@code
 * SocketChannel} (made inside the VM network), which only an NIO event loop can take, and keeping
 * both sides of an exchange on one loop saves a thread hop per read.
 */
public final class EdgeServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeServer.class);

  private final EdgeConfig config;
  private final EventLoopGroup loops;
  private final ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor();
  private final ServerBootstrap https;
  private final ServerBootstrap http;
  private final Channel mainHttps;
  private final Channel mainHttp;
  private final Map<InetAddress, List<Channel>> extra = new HashMap<>();

  private EdgeServer(EdgeConfig config, RouteTable routes, VmConnector vms, TlsContexts tls, ZonePages pages) throws IOException {
    this.config = config;
    // One loop per core (Netty's default is two): a loop is never blocked, so more only add switches.
    this.loops = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(), NioIoHandler.newFactory());
    ProxyContext edge = new ProxyContext(config, routes, new Upstreams(vms, blocking, config.connectTimeout(), config.maxConnectionsPerVm(),
        config.stallTimeout()),
        pages, blocking);
    https = bootstrap(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel channel) {
        channel.pipeline().addLast(new EdgeSniHandler(tls, config.handshakeTimeout().toMillis()), new ProtocolSwitch(edge));
      }
    });
    try {
      mainHttps = bind(https, config.https());
      int httpsPort = ((InetSocketAddress) mainHttps.localAddress()).getPort();
      http = bootstrap(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(new HttpServerCodec(), new HttpsRedirect(config.zone(), httpsPort));
        }
      });
      mainHttp = bind(http, config.http());
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  public static EdgeServer start(EdgeConfig config, RouteTable routes, VmConnector vms, TlsContexts tls) throws IOException {
    return new EdgeServer(config, routes, vms, tls, ZonePages.NONE);
  }

  /** With {@code pages} answering requests to the zone itself ({@code https://<zone>/…}). */
  public static EdgeServer start(EdgeConfig config, RouteTable routes, VmConnector vms, TlsContexts tls, ZonePages pages) throws IOException {
    return new EdgeServer(config, routes, vms, tls, pages);
  }

  private ServerBootstrap bootstrap(ChannelInitializer<SocketChannel> initializer) {
    return new ServerBootstrap().group(loops).channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(initializer);
  }

  private static Channel bind(ServerBootstrap bootstrap, InetSocketAddress address) throws IOException {
    var bound = bootstrap.bind(address).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      throw new IOException("the edge cannot listen on " + address.getHostString() + ":" + address.getPort() + ": "
          + bound.cause().getMessage() + " (another server there? choose with --https/--http, or --no-edge)", bound.cause());
    }
    return bound.channel();
  }

  public int httpsPort() {
    return ((InetSocketAddress) mainHttps.localAddress()).getPort();
  }

  public int httpPort() {
    return ((InetSocketAddress) mainHttp.localAddress()).getPort();
  }

  /**
   * Listens (on the HTTPS and HTTP ports) on exactly these addresses besides the configured ones:
   * new ones are bound, ones no longer named are let go. An address that cannot be bound is logged.
   */
  public synchronized void listenOn(Set<InetAddress> addresses) {
    for (InetAddress gone : new HashSet<>(extra.keySet())) {
      if (!addresses.contains(gone)) {
        extra.remove(gone).forEach(Channel::close);
      }
    }
    for (InetAddress address : addresses) {
      if (extra.containsKey(address) || address.equals(config.https().getAddress())) {
        continue;
      }
      try {
        Channel secure = bind(https, new InetSocketAddress(address, httpsPort()));
        Channel plain;
        try {
          plain = bind(http, new InetSocketAddress(address, httpPort()));
        } catch (IOException e) {
          secure.close();
          throw e;
        }
        extra.put(address, List.of(secure, plain));
      } catch (IOException e) {
        log.warn("{}", e.getMessage());
      }
    }
  }

  @Override
  public synchronized void close() {
    extra.values().forEach(channels -> channels.forEach(Channel::close));
    extra.clear();
    if (mainHttps != null) {
      mainHttps.close();
    }
    if (mainHttp != null) {
      mainHttp.close();
    }
    loops.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    blocking.shutdownNow();
  }
}
