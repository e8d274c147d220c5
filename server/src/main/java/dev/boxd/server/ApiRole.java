package dev.boxd.server;

import dev.boxd.api.auth.TokenVerifier;
import dev.boxd.api.grpc.ApiServer;
import dev.boxd.api.grpc.Callers;
import dev.boxd.api.grpc.ServerCertificates;
import dev.boxd.api.grpc.Tokenless;
import dev.boxd.core.state.StateStore;
import dev.boxd.edge.tls.CertificateSource;
import dev.boxd.edge.tls.LocalCa;
import dev.boxd.edge.tls.LocalCaSource;
import dev.boxd.edge.tls.ZoneCertificateSource;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;

/**
 * The gRPC API of one node ({@code boxd.api.v1.BoxdApi}, SPEC §2 and §12), with the edge's
 * certificates: the zone's ACME certificate once the log has one, the local CA's otherwise (the
 * CA {@code boxd ca} prints, in {@code <data>/edge}), fetched per handshake so a renewal is served
 * at once. Clients reach it as {@code <zone>:9443}; any other name they send (or none: an
 * address) gets the zone's certificate too, and their own name check decides.
 */
final class ApiRole implements AutoCloseable {
  private final ApiServer server;

  private ApiRole(ApiServer server) {
    this.server = server;
  }

  static ApiRole start(Path dataDir, InetSocketAddress address, String zone, StateStore store, Callers callers, TokenVerifier tokens,
      Tokenless tokenless, Clock clock) throws IOException {
    Objects.requireNonNull(tokens, "a TokenVerifier");
    LocalCa ca = LocalCa.loadOrCreate(EdgeRole.caDir(dataDir), zone, clock);
    CertificateSource source = new ZoneCertificateSource(store, zone, new LocalCaSource(ca, zone::equals, clock));
    return new ApiRole(ApiServer.start(address, callers, tokens, tokenless, certificates(source, zone), zone));
  }

  /**
   * The edge's certificates as the API module takes them (it does not depend on the edge): the
   * zone's own only, so that no client makes the local CA issue for names of its choosing.
   */
  static ServerCertificates certificates(CertificateSource source, String zone) {
    return name -> name.equals(zone)
        ? source.certificateFor(zone).map(key -> new ServerCertificates.Certified(key.key(), key.chain()))
        : java.util.Optional.empty();
  }

  int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
  }
}
