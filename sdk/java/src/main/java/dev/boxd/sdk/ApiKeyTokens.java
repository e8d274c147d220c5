package dev.boxd.sdk;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tokens for an API key: exchanged when first needed, kept, and exchanged again
 * {@link #REFRESH_BEFORE} before they expire (or half their life before, for a token that lives
 * less than twice that), or at once when the server says one expired (clocks disagree). One
 * exchange runs at a time: calls that need a token meanwhile wait for it rather than exchange too.
 */
final class ApiKeyTokens implements TokenSource {
  static final Duration REFRESH_BEFORE = Duration.ofSeconds(60);
  /**
   * A token is used at least this long, whatever its expiry says: a client clock far ahead of the
   * server's would otherwise see every new token as expired and exchange on every call. A token
   * that really expired is refused and renewed through {@link #expired}.
   */
  static final Duration MIN_USE = Duration.ofSeconds(10);

  /** A token and when it stops working. */
  record Issued(String token, Instant expiresAt) {
    @Override
    public String toString() {
      return "Issued[expiresAt=" + expiresAt + "]";
    }
  }

  /** The exchange itself (the ExchangeApiKey call); throws a {@link BoxdError} when refused. */
  interface Exchange {
    Issued exchange(String apiKey);
  }

  private final String apiKey;
  private final Exchange exchange;
  private final Clock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private Issued current;
  private Instant refreshAt;
  private long generation;

  ApiKeyTokens(String apiKey, Exchange exchange, Clock clock) {
    this.apiKey = apiKey;
    this.exchange = exchange;
    this.clock = clock;
  }

  @Override
  public Current current() {
    lock.lock();
    try {
      Instant now = clock.instant();
      if (current == null || !now.isBefore(refreshAt)) {
        Issued issued = exchange.exchange(apiKey);
        Duration life = Duration.between(now, issued.expiresAt());
        Duration margin = life.compareTo(REFRESH_BEFORE.multipliedBy(2)) < 0 ? life.dividedBy(2) : REFRESH_BEFORE;
        current = issued;
        Instant byExpiry = issued.expiresAt().minus(margin.isNegative() ? Duration.ZERO : margin);
        Instant earliest = now.plus(MIN_USE);
        refreshAt = byExpiry.isBefore(earliest) ? earliest : byExpiry;
        generation++;
      }
      return new Current(current.token(), generation);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void expired(long failedGeneration) {
    lock.lock();
    try {
      // Only the token the failed call carried is dropped: another call may have renewed it already.
      if (current != null && failedGeneration == generation) {
        current = null;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean renewable() {
    return true;
  }

  @Override
  public String toString() {
    return "ApiKeyTokens[bxd_...]";
  }
}
