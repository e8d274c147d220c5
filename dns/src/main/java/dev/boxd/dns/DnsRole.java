package dev.boxd.dns;

import dev.boxd.core.state.StateStore;
import java.net.InetSocketAddress;
import java.time.Clock;

/** The dns role of a node: the zone followed in the local replica, served on one address over UDP and TCP. */
public final class DnsRole implements AutoCloseable {
  /**
   * Where a single node serves its zone unless told otherwise: loopback, and neither port 53 (the
   * host's resolver, systemd-resolved's 127.0.0.53 or a dnsmasq may hold it) nor 5353 (mDNS: avahi,
   * systemd-resolved). A public zone's server listens on 53 of a public address instead.
   */
  public static final String DEFAULT_LISTEN = "127.0.0.1:5300";

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

  /**
   * The address of a {@code --dns=ADDR:PORT} flag: an IPv4 literal and a port; throws
   * INVALID_ARGUMENT naming the value and the expected form.
   */
  public static InetSocketAddress listenAddress(String flag) {
    int colon = flag.lastIndexOf(':');
    String problem = "invalid --dns " + dev.boxd.core.Names.quote(flag) + ": expected ADDR:PORT with an IPv4 address, such as 127.0.0.1:5300";
    if (colon < 1) {
      throw dev.boxd.core.BoxdException.invalid(problem);
    }
    int port;
    try {
      port = Integer.parseInt(flag.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw dev.boxd.core.BoxdException.invalid(problem);
    }
    if (port < 1 || port > 65_535) {
      throw dev.boxd.core.BoxdException.invalid(problem + " (port 1-65535)");
    }
    dev.boxd.core.net.Ipv4 address;
    try {
      address = dev.boxd.core.net.Ipv4.parse(flag.substring(0, colon));
    } catch (dev.boxd.core.BoxdException e) {
      throw dev.boxd.core.BoxdException.invalid(problem);
    }
    return new InetSocketAddress(address.toString(), port); // a literal: no lookup
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
