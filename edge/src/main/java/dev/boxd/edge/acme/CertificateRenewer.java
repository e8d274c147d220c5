package dev.boxd.edge.acme;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the ACME certificates the edge needs current: one for the zone ({@code zone} and
 * {@code *.zone}: every VM's own name) and one for each VM name with proxies of its own
 * ({@code NAME.zone} and {@code *.NAME.zone}: the names {@code SUB.NAME.zone}, which a wildcard one
 * label deep does not cover). Every {@link #CHECK_EVERY} it orders the certificates that are due
 * ({@link Renewal#due}) and saves them in the replicated state, from where every proxy node serves
 * them; so a new proxy has its certificate within about a minute. Only the node that {@code leads}
 * orders, so a cluster asks the CA once. A failure is logged and that name is tried again after a
 * growing pause; the other names go on.
 */
public final class CertificateRenewer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateRenewer.class);
  /** Reads of the local replica only, unless something is due: cheap to do often. */
  static final Duration CHECK_EVERY = Duration.ofSeconds(30);

  private record Failing(int failures, Instant retryAt) {
  }

  private final Supplier<Set<String>> names;
  private final AcmeIssuer issuer;
  private final ChallengeRecords records;
  private final CertificateStore store;
  private final BooleanSupplier leads;
  private final Clock clock;
  private final Map<String, Failing> failing = new HashMap<>();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("acme-renewal").daemon().unstarted(r));

  /** {@code names}: the names to hold a certificate for (each with its wildcard), as the state has them now. */
  public CertificateRenewer(Supplier<Set<String>> names, AcmeIssuer issuer, ChallengeRecords records, CertificateStore store,
      BooleanSupplier leads, Clock clock) {
    this.names = names;
    this.issuer = issuer;
    this.records = records;
    this.store = store;
    this.leads = leads;
    this.clock = clock;
  }

  public void start() {
    timer.scheduleWithFixedDelay(this::check, 0, CHECK_EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void check() {
    try {
      if (!leads.getAsBoolean()) {
        return;
      }
      Set<String> wanted = names.get();
      failing.keySet().retainAll(wanted);
      for (String name : wanted) {
        if (Thread.currentThread().isInterrupted()) {
          return;
        }
        renewIfDue(name);
      }
    } catch (RuntimeException e) {
      log.warn("ACME: the check of certificates failed, trying again in {}: {}", CHECK_EVERY, e.toString());
    }
  }

  private void renewIfDue(String name) {
    Instant now = clock.instant();
    Failing failed = failing.get(name);
    if (failed != null && now.isBefore(failed.retryAt())) {
      return;
    }
    try {
      if (Renewal.due(store.current(name), now)) {
        log.info("ACME: ordering the certificate of {} and *.{}", name, name);
        store.save(name, issuer.issue(name, records));
        failing.remove(name);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      int failures = failed == null ? 1 : failed.failures() + 1;
      Duration wait = Renewal.backoff(failures);
      failing.put(name, new Failing(failures, now.plus(wait)));
      log.warn("ACME: the certificate of {} could not be renewed ({} failed attempts in a row), trying again in {}: {}", name, failures,
          wait, e.getMessage());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
