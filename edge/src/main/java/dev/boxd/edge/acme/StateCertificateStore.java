package dev.boxd.edge.acme;

import dev.boxd.core.state.Command;
import dev.boxd.core.state.StateStore;
import java.util.Optional;

/** Zone certificates in the replicated state, read from the local replica and written through the log. */
public final class StateCertificateStore implements CertificateStore {
  private final StateStore store;

  public StateCertificateStore(StateStore store) {
    this.store = store;
  }

  @Override
  public Optional<IssuedCertificate> current(String zone) {
    return store.read().zoneCertificate(zone).map(c -> new IssuedCertificate(c.chainPem(), c.keyPem(), c.notAfter()));
  }

  @Override
  public void save(String zone, IssuedCertificate certificate) {
    store.propose(new Command.SetZoneCertificate(zone, certificate.chainPem(), certificate.keyPem(), certificate.notAfter())).orThrow();
  }
}
