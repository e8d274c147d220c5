package dev.boxd.server;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.StateFollower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.edge.http.EdgeConfig;
import dev.boxd.edge.http.EdgeServer;
import dev.boxd.edge.http.ZonePages;
import dev.boxd.edge.route.EdgeName;
import dev.boxd.edge.route.StateRouteTable;
import dev.boxd.edge.route.WorkerVmConnector;
import dev.boxd.edge.tls.LocalCa;
import dev.boxd.edge.tls.LocalCaSource;
import dev.boxd.edge.tls.TlsContexts;
import dev.boxd.edge.tls.ZoneCertificateSource;
import dev.boxd.workerport.Workers;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy role of a single node: the HTTPS edge with certificates from the local CA (kept in
 * {@code <data>/edge}), routes and VMs from the local replica, listening besides on every VM's
 * public address (DNS answers {@code NAME.<zone>} with it), following the log as the SSH gateway
 * does.
 */
final class EdgeRole implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EdgeRole.class);

  private final StateStore store;
  private final EdgeServer server;
  private volatile StateFollower follower;

  private EdgeRole(StateStore store, EdgeServer server) {
    this.store = store;
    this.server = server;
  }

  static Path caDir(Path dataDir) {
    return dataDir.resolve("edge");
  }

  static EdgeRole start(Path dataDir, EdgeConfig config, StateStore store, Workers workers, ZonePages pages, Clock clock) throws IOException {
    LocalCa ca = LocalCa.loadOrCreate(caDir(dataDir), config.zone(), clock);
    // The zone's ACME certificate once the log has one (--acme-directory), the local CA's otherwise.
    var certificates = new ZoneCertificateSource(store, config.zone(),
        new LocalCaSource(ca, name -> EdgeName.parse(name, config.zone()).isPresent() || EdgeName.isZone(name, config.zone()), clock));
    EdgeServer server;
    try {
      server = EdgeServer.start(config, new StateRouteTable(store), new WorkerVmConnector(store, workers), new TlsContexts(certificates),
          pages);
    } catch (IOException e) {
      throw dev.boxd.core.BoxdException.precondition(e.getMessage()); // a port taken: the message says which and what to do
    }
    EdgeRole role = new EdgeRole(store, server);
    role.follower = StateFollower.start("edge-sync", store, role::sync,
        e -> log.warn("cannot update the edge's addresses: {}", e.toString()));
    return role;
  }

  int httpsPort() {
    return server.httpsPort();
  }

  int httpPort() {
    return server.httpPort();
  }

  private void sync(ClusterState state) {
    Set<InetAddress> addresses = new HashSet<>();
    for (Vm vm : state.vms()) {
      if (vm.desired() != DesiredPower.DESTROYED) {
        addresses.add(inet(vm.publicIp()));
      }
    }
    server.listenOn(addresses);
  }

  private static InetAddress inet(Ipv4 ip) {
    try {
      return InetAddress.getByName(ip.toString()); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (follower != null) {
      follower.close();
    }
    server.close();
  }
}
