package dev.boxd.dns;

import dev.boxd.core.state.StateStore;
import java.net.InetSocketAddress;
import java.time.Clock;

/** The dns role of a node: the zone followed in the local replica, served on one address over UDP and TCP. */
public final class DnsRole implements AutoCloseable {
  private final ReplicaZone zone;
  private final DnsServer server;

  private DnsRole(ReplicaZone zone, DnsServer server) {
    this.zone = zone;
    this.server = server;
  }

  /** Serves {@code config}'s zone from {@code store} on {@code listen}; throws FAILED_PRECONDITION if it is taken. */
  public static DnsRole start(StateStore store, ZoneConfig config, InetSocketAddress listen) {
    ReplicaZone zone = ReplicaZone.follow(store, config);
    try {
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      return new DnsRole(zone, DnsServer.start(listen, threads, zone, Clock.systemUTC()));
    } catch (RuntimeException e) {
      zone.close();
      throw e;
    }
  }

  public InetSocketAddress address() {
    return server.address();
  }

  public ZoneConfig config() {
    return zone.config();
  }

  @Override
  public void close() {
    server.close();
    zone.close();
  }
}
