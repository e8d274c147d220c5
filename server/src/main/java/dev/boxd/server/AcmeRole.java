package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Proxy;
import dev.boxd.core.state.StateStore;
import dev.boxd.edge.acme.AccountKey;
import dev.boxd.edge.acme.AcmeIssuer;
import dev.boxd.edge.acme.LogChallengeRecords;
import dev.boxd.edge.acme.StateCertificateStore;
import dev.boxd.edge.acme.CertificateRenewer;
import dev.boxd.raft.RaftNode;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Keeps the zone's wildcard certificate, and one for each VM name with proxies, from an ACME CA
 * ({@code --acme-directory}): the leading node orders them through DNS-01, answered by the dns
 * role from the log, and writes them to the log, from where every proxy node's edge serves them. Its account key is kept in {@code <data>/edge}.
 */
final class AcmeRole {
  private static final Duration WAIT = Duration.ofMinutes(2);

  private AcmeRole() {}

  static CertificateRenewer start(Path dataDir, String zone, String directory, Optional<String> email, Optional<Path> caFile,
      RaftNode raft, Clock clock) throws IOException {
    URI uri;
    try {
      uri = URI.create(directory);
    } catch (IllegalArgumentException e) {
      throw BoxdException.invalid("--acme-directory=" + directory + ": not a URL (" + e.getMessage() + ")");
    }
    if (!"https".equals(uri.getScheme())) {
      throw BoxdException.invalid("--acme-directory=" + directory + ": expected the https URL of an ACME directory, such as"
          + " https://acme-v02.api.letsencrypt.org/directory");
    }
    var trust = caFile.isEmpty() ? Optional.<javax.net.ssl.SSLContext>empty() : Optional.of(AcmeIssuer.trusting(caFile.get()));
    var issuer = new AcmeIssuer(uri, trust, AccountKey.loadOrCreate(EdgeRole.caDir(dataDir).resolve("acme-account.pem")), email, WAIT);
    StateStore store = raft;
    var renewer = new CertificateRenewer(() -> certificateNames(store.read(), zone), issuer, new LogChallengeRecords(store, clock), new StateCertificateStore(store),
        raft::isLeader, clock);
    renewer.start();
    return renewer;
  }

  /**
   * The names the edge needs a certificate for: the zone (its wildcard covers every VM's name), and
   * each VM name with a proxy of its own, whose {@code SUB.NAME} names only {@code *.NAME.zone} covers.
   */
  static Set<String> certificateNames(ClusterState state, String zone) {
    Set<String> names = new TreeSet<>();
    names.add(zone);
    for (Proxy proxy : state.proxies()) {
      if (!proxy.isDefault()) {
        state.vm(proxy.vmId()).filter(vm -> vm.desired() != DesiredPower.DESTROYED).ifPresent(vm -> names.add(vm.name() + "." + zone));
      }
    }
    return names;
  }
}
