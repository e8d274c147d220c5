package dev.boxd.edge.acme;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RenewalTest {
  private static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");

  private static Optional<IssuedCertificate> endingIn(Duration left) {
    return Optional.of(new IssuedCertificate("chain", "key", NOW.plus(left)));
  }

  @Test
  void noCertificateIsDue() {
    assertThat(Renewal.due(Optional.empty(), NOW)).isTrue();
  }

  @Test
  void aCertificateIsDueThirtyDaysBeforeItEnds() {
    assertThat(Renewal.due(endingIn(Duration.ofDays(89)), NOW)).isFalse();
    assertThat(Renewal.due(endingIn(Duration.ofDays(30).plusSeconds(1)), NOW)).isFalse();
    assertThat(Renewal.due(endingIn(Duration.ofDays(30)), NOW)).isTrue();
    assertThat(Renewal.due(endingIn(Duration.ofDays(-1)), NOW)).as("expired").isTrue();
  }

  @Test
  void failedAttemptsWaitLongerEachTimeUpToAnHour() {
    assertThat(Renewal.backoff(1)).isEqualTo(Duration.ofMinutes(1));
    assertThat(Renewal.backoff(2)).isEqualTo(Duration.ofMinutes(2));
    assertThat(Renewal.backoff(6)).isEqualTo(Duration.ofMinutes(32));
    assertThat(Renewal.backoff(7)).isEqualTo(Duration.ofHours(1));
    assertThat(Renewal.backoff(1000)).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void theKeyIsNeverPrinted() {
    assertThat(new IssuedCertificate("chain", "-----BEGIN PRIVATE KEY-----", NOW).toString()).doesNotContain("PRIVATE");
  }
}
