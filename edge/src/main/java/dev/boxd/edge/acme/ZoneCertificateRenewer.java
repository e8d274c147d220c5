package dev.boxd.edge.acme;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the zone's ACME certificate current: checks at start and every {@link #CHECK_EVERY},
 * and when it is due ({@link Renewal#due}) orders a new one and saves it in the replicated
 * state, from where every proxy node serves it. Only the node that {@code leads} orders, so a
 * cluster asks the CA once. A failure is logged and tried again after a growing pause.
 */
public final class ZoneCertificateRenewer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ZoneCertificateRenewer.class);
  static final Duration CHECK_EVERY = Duration.ofHours(1);
  /** A node that does not lead looks again this soon: leadership may come to it (or come at all, at start). */
  static final Duration FOLLOWER_CHECK_EVERY = Duration.ofSeconds(10);

  private final String zone;
  private final AcmeIssuer issuer;
  private final ChallengeRecords records;
  private final CertificateStore store;
  private final BooleanSupplier leads;
  private final Clock clock;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("acme-renewal").daemon().unstarted(r));
  private int failures;

  public ZoneCertificateRenewer(String zone, AcmeIssuer issuer, ChallengeRecords records, CertificateStore store, BooleanSupplier leads,
      Clock clock) {
    this.zone = zone;
    this.issuer = issuer;
    this.records = records;
    this.store = store;
    this.leads = leads;
    this.clock = clock;
  }

  public void start() {
    timer.execute(this::check);
  }

  private void check() {
    Duration next = CHECK_EVERY;
    try {
      if (!leads.getAsBoolean()) {
        next = FOLLOWER_CHECK_EVERY;
      } else if (Renewal.due(store.current(zone), clock.instant())) {
        log.info("ACME: ordering the certificate of {} and *.{}", zone, zone);
        store.save(zone, issuer.issue(zone, records));
        failures = 0;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (Exception e) {
      failures++;
      next = Renewal.backoff(failures);
      log.warn("ACME: the certificate of {} could not be renewed ({} failed attempts in a row), trying again in {}: {}", zone, failures,
          next, e.getMessage());
    }
    if (!timer.isShutdown()) {
      timer.schedule(this::check, next.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
