package dev.boxd.edge.acme;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When a zone's certificate is due: when there is none, or when less than a third of a 90-day
 * lifetime (30 days) is left — Let's Encrypt's own advice, which leaves two weeks of retries
 * before browsers would see an expired certificate. Pure, so it is tested without a clock.
 */
public final class Renewal {
  static final Duration RENEW_BEFORE = Duration.ofDays(30);
  /** After a failed attempt: wait this long, doubling up to {@link #MAX_BACKOFF}. */
  static final Duration FIRST_BACKOFF = Duration.ofMinutes(1);
  static final Duration MAX_BACKOFF = Duration.ofHours(1);

  private Renewal() {}

  public static boolean due(Optional<IssuedCertificate> current, Instant now) {
    return current.map(c -> !now.isBefore(c.notAfter().minus(RENEW_BEFORE))).orElse(true);
  }

  /** How long to wait before trying again after {@code failures} failed attempts in a row (≥ 1). */
  public static Duration backoff(int failures) {
    Duration wait = FIRST_BACKOFF;
    for (int i = 1; i < failures && wait.compareTo(MAX_BACKOFF) < 0; i++) {
      wait = wait.multipliedBy(2);
    }
    return wait.compareTo(MAX_BACKOFF) < 0 ? wait : MAX_BACKOFF;
  }
}
