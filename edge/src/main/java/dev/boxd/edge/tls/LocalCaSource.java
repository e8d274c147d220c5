package dev.boxd.edge.tls;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Predicate;

/**
 * Certificates from the local CA, issued the first time a name is asked for and kept (one key per
 * name) until a third of their validity is left. Names the edge does not serve get none.
 */
public final class LocalCaSource implements CertificateSource {
  /** Bounds memory against a client asking for ever new names; re-issuing costs about a millisecond. */
  private static final int MAX_CACHED = 10_000;
  private static final Duration RENEW_BEFORE = LocalCa.LEAF_VALIDITY.dividedBy(3);

  private final LocalCa ca;
  private final Predicate<String> served;
  private final Clock clock;
  private final ConcurrentMap<String, CertifiedKey> issued = new ConcurrentHashMap<>();

  /** @param served whether a (lower-case) server name is one the edge serves */
  public LocalCaSource(LocalCa ca, Predicate<String> served, Clock clock) {
    this.ca = ca;
    this.served = served;
    this.clock = clock;
  }

  @Override
  public Optional<CertifiedKey> certificateFor(String serverName) {
    if (serverName == null || !served.test(serverName)) {
      return Optional.empty();
    }
    CertifiedKey held = issued.get(serverName);
    if (held != null && held.notAfter().isAfter(clock.instant().plus(RENEW_BEFORE))) {
      return Optional.of(held);
    }
    if (issued.size() >= MAX_CACHED) {
      issued.clear();
    }
    CertifiedKey fresh = ca.issue(serverName);
    issued.put(serverName, fresh);
    return Optional.of(fresh);
  }
}
