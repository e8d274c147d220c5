package dev.boxd.edge.http;

import dev.boxd.edge.route.Route;
import dev.boxd.edge.route.VmConnector;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * Connections from the edge to VM ports, kept open between requests. A connection is made by the
 * {@link VmConnector} (which may wake the VM and blocks, so it runs on a virtual thread) and then
 * joins the event loop of the client connection it serves, so both sides of an exchange run on
 * one thread. Idle connections wait per event loop, touched only from that loop; one unused for
 * {@link #POOL_IDLE} is closed, well before a VM's server would close it under a request. The
 * same idle clock, counted while a connection serves an exchange, ends an exchange that stalls.
 */
final class Upstreams {
  static final Duration POOL_IDLE = Duration.ofSeconds(15);
  private static final int MAX_IDLE_PER_TARGET = 64;

  private record Target(EventLoop loop, String vmId, int port) {
  }

  private final VmConnector vms;
  private final ExecutorService blocking;
  private final Duration connectTimeout;
  private final int maxPerVm;
  private final long idlePeriodMillis;
  private final int stallPeriods;
  private final ConcurrentMap<String, AtomicInteger> openPerVm = new ConcurrentHashMap<>();
  private final ConcurrentMap<Target, ArrayDeque<Channel>> idle = new ConcurrentHashMap<>();

  Upstreams(VmConnector vms, ExecutorService blocking, Duration connectTimeout, int maxPerVm, Duration stallTimeout) {
    this.vms = vms;
    this.blocking = blocking;
    this.connectTimeout = connectTimeout;
    this.maxPerVm = maxPerVm;
    // One idle clock per connection: its period is the pool's, or the stall timeout if shorter,
    // and an exchange stalls after as many silent periods as make up the stall timeout.
    this.idlePeriodMillis = Math.min(POOL_IDLE.toMillis(), stallTimeout.toMillis());
    this.stallPeriods = (int) Math.max(1, (stallTimeout.toMillis() + idlePeriodMillis - 1) / idlePeriodMillis);
  }

  /** Too many connections to one VM already: the edge protects the VM (and itself). */
  static final class TooManyConnections extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooManyConnections(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A connection to the route's port, on {@code loop}, to {@code then} on that loop: a kept one
   * if the VM is awake, else a new one (waking the VM).
   */
  void acquire(Route route, EventLoop loop, BiConsumer<Channel, Throwable> then) {
    Target target = new Target(loop, route.vmId(), route.port());
    ArrayDeque<Channel> kept = idle.get(target);
    if (kept != null && !kept.isEmpty()) {
      if (vms.isAwake(route.vmId())) {
        Channel channel;
        while ((channel = kept.pollFirst()) != null) {
          if (channel.isActive()) {
            then.accept(channel, null);
            return;
          }
        }
      } else {
        kept.forEach(Channel::close); // a VM that slept: its kept connections may not survive, and the wake comes first
        kept.clear();
      }
    }
    AtomicInteger open = openPerVm.computeIfAbsent(route.vmId(), id -> new AtomicInteger());
    if (open.incrementAndGet() > maxPerVm) {
      open.decrementAndGet();
      then.accept(null, new TooManyConnections("VM " + route.vmName() + " already has " + maxPerVm + " connections open through the edge"));
      return;
    }
    blocking.execute(() -> {
      SocketChannel socket;
      try {
        socket = vms.connect(route, connectTimeout);
      } catch (Throwable failure) {
        open.decrementAndGet();
        loop.execute(() -> then.accept(null, failure));
        return;
      }
      NioSocketChannel channel = new NioSocketChannel(socket);
      channel.config().setTcpNoDelay(true);
      channel.closeFuture().addListener(f -> { // on the loop, where the kept connections are touched
        open.decrementAndGet();
        ArrayDeque<Channel> keptHere = idle.get(target);
        if (keptHere != null) {
          keptHere.remove(channel);
        }
      });
      channel.pipeline().addLast("idle", new IdleStateHandler(0, 0, idlePeriodMillis, TimeUnit.MILLISECONDS))
          .addLast("codec", new HttpClientCodec(4096, 64 * 1024, 64 * 1024))
          .addLast("relay", new UpstreamRelay(stallPeriods));
      loop.register(channel).addListener(registered -> {
        if (registered.isSuccess()) {
          then.accept(channel, null);
        } else {
          channel.unsafe().closeForcibly();
          then.accept(null, registered.cause());
        }
      });
    });
  }

  /** Keeps a connection whose last exchange ended cleanly for the next request to its target. */
  void release(Channel channel, Route route) {
    UpstreamRelay relay = channel.pipeline().get(UpstreamRelay.class);
    if (relay == null || !channel.isActive()) {
      channel.close();
      return;
    }
    relay.detach();
    Target target = new Target(channel.eventLoop(), route.vmId(), route.port());
    ArrayDeque<Channel> kept = idle.computeIfAbsent(target, t -> new ArrayDeque<>());
    if (kept.size() >= MAX_IDLE_PER_TARGET) {
      channel.close();
      return;
    }
    kept.addFirst(channel); // the most recently used first: the others age out
  }
}
