package dev.boxd.edge.http;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * How the edge serves.
 *
 * @param zone the DNS zone VM names live under ({@code NAME.<zone>})
 * @param https where HTTPS listens (port 0: any free port)
 * @param http where plain HTTP (redirects to HTTPS) listens
 * @param handshakeTimeout a TLS handshake not done by then is dropped
 * @param headerTimeout a request head started but not complete by then gets 408
 * @param idleTimeout a connection with no request for this long is closed
 * @param connectTimeout how long a connection to a VM's port may take (after waking it)
 * @param maxHeaderBytes the largest request head accepted (431 beyond)
 * @param maxConnectionsPerVm connections the edge holds open to one VM at most (503 beyond)
 * @param stallTimeout an exchange in which nothing moves between the edge and the VM for this long
 *     ends: with {@code 504} if the VM had not begun its answer, else by closing both sides
 */
public record EdgeConfig(String zone, InetSocketAddress https, InetSocketAddress http, Duration handshakeTimeout, Duration headerTimeout,
    Duration idleTimeout, Duration connectTimeout, int maxHeaderBytes, int maxConnectionsPerVm, Duration stallTimeout) {

  public EdgeConfig {
    Objects.requireNonNull(zone, "zone");
    Objects.requireNonNull(https, "https");
    Objects.requireNonNull(http, "http");
    Objects.requireNonNull(stallTimeout, "stallTimeout");
  }

  public static EdgeConfig defaults(String zone, InetSocketAddress https, InetSocketAddress http) {
    return new EdgeConfig(zone, https, http, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(5),
        16 * 1024, 512, Duration.ofSeconds(120));
  }

  public EdgeConfig withTimeouts(Duration header, Duration idle) {
    return new EdgeConfig(zone, https, http, handshakeTimeout, header, idle, connectTimeout, maxHeaderBytes, maxConnectionsPerVm, stallTimeout);
  }

  public EdgeConfig withStallTimeout(Duration stall) {
    return new EdgeConfig(zone, https, http, handshakeTimeout, headerTimeout, idleTimeout, connectTimeout, maxHeaderBytes, maxConnectionsPerVm,
        stall);
  }
}
