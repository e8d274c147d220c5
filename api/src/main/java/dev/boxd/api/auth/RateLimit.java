package dev.boxd.api.auth;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A token bucket per source address: {@code perSecond} requests a second on average, bursts of up
 * to {@code burst}. At most {@code maxSources} buckets are kept (least recently used ones go
 * first), so a flood from many addresses costs bounded memory; a source whose bucket was dropped
 * starts again with a full one, which only a flood of that many addresses can arrange.
 */
final class RateLimit {
  private final double perSecond;
  private final double burst;
  private final int maxSources;
  private final Clock clock;
  private final Map<String, Bucket> buckets;

  private static final class Bucket {
    double tokens;
    long atNanos;

    Bucket(double tokens, long atNanos) {
      this.tokens = tokens;
      this.atNanos = atNanos;
    }
  }

  RateLimit(double perSecond, int burst, int maxSources, Clock clock) {
    if (perSecond <= 0 || burst < 1 || maxSources < 1) {
      throw new IllegalArgumentException("a rate limit needs a positive rate, burst and number of sources");
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.maxSources = maxSources;
    this.clock = clock;
    this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
        return size() > RateLimit.this.maxSources;
      }
    };
  }

  /** Takes one request of {@code source}: empty when allowed, else the whole seconds to wait (at least 1). */
  synchronized OptionalLong take(String source) {
    long now = nanos();
    Bucket bucket = buckets.computeIfAbsent(source, s -> new Bucket(burst, now));
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.atNanos) / 1e9 * perSecond);
    bucket.atNanos = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return OptionalLong.empty();
    }
    double waitSeconds = (1 - bucket.tokens) / perSecond;
    return OptionalLong.of(Math.max(1, (long) Math.ceil(waitSeconds)));
  }

  synchronized int sources() {
    return buckets.size();
  }

  private long nanos() {
    Duration since = Duration.between(java.time.Instant.EPOCH, clock.instant());
    return since.toNanos();
  }
}
