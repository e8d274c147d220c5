package dev.boxd.api.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.testing.FakeOperations;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** Poll tokens: not linked, linked once (the key made through the user's operations), expired; key names. */
class DeviceLoginsTest {
  private static final Instant NOW = Instant.parse("2026-06-01T10:00:00Z");
  private final MovableClock clock = new MovableClock(NOW);
  private final Map<String, String> linked = new ConcurrentHashMap<>();
  private final FakeOperations ops = FakeOperations.builder().build();

  private final KeyRegistrations registrations = new KeyRegistrations() {
    @Override
    public Opened open(String publicKey, String source) {
      return new Opened("CODE2345", "SHA256:" + publicKey, "https://boxd.test/register?code=CODE2345", clock.instant().plus(Duration.ofHours(1)));
    }

    @Override
    public Optional<String> userOf(String fingerprint) {
      return Optional.ofNullable(linked.get(fingerprint));
    }
  };

  // The proof of holding the key is DeviceKeyProofTest's: here every request holds its key.
  private static final DeviceLogins.Proof HOLDS_KEY = (request, now) -> {};

  private final DeviceLogins logins = new DeviceLogins(registrations, user -> {
    assertThat(user).isEqualTo("u-1");
    return ops;
  }, clock, new RateLimit(TokenExchange.PER_SECOND, TokenExchange.BURST, TokenExchange.MAX_SOURCES, clock), HOLDS_KEY);

  private static DeviceLogins.Request request(String publicKey, String deviceName) {
    return new DeviceLogins.Request(publicKey, deviceName, "", 0);
  }

  @Test
  void answersNotLinkedThenTheKeyOnceThenNothing() {
    var started = logins.start(request("k1", "Jo's Laptop!"), "203.0.113.1");
    assertThat(started.code()).isEqualTo("CODE2345");
    assertThat(started.intervalSecs()).isEqualTo(2);
    assertThat(started.expiresAt()).isEqualTo(NOW.plus(Duration.ofHours(1)));
    assertThat(Base64.getUrlDecoder().decode(started.pollToken())).hasSize(32);
    assertThat(started.toString()).doesNotContain(started.pollToken());

    assertThat(logins.poll(started.pollToken(), "203.0.113.1").linked()).isFalse();
    linked.put("SHA256:k1", "u-1");
    var polled = logins.poll(started.pollToken(), "203.0.113.1");
    assertThat(polled.linked()).isTrue();
    assertThat(polled.userId()).isEqualTo("u-1");
    assertThat(polled.apiKey()).startsWith("bxd_");
    assertThat(ops.apiKeys.get(polled.apiKeyId()).name()).isEqualTo("device-jo-s-laptop");
    assertThat(ops.apiKeys.get(polled.apiKeyId()).expiresAt()).isEmpty();

    var again = catchThrowableOfType(BoxdException.class, () -> logins.poll(started.pollToken(), "203.0.113.1"));
    assertThat(again.code()).isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(again.getMessage()).isEqualTo("no login in progress for this token: run `boxd auth login` again");
  }

  @Test
  void aSecondDeviceOfTheSameNameGetsANameOfItsOwn() {
    linked.put("SHA256:k1", "u-1");
    linked.put("SHA256:k2", "u-1");
    var first = logins.poll(logins.start(request("k1", ""), "203.0.113.1").pollToken(), "203.0.113.1");
    var second = logins.poll(logins.start(request("k2", ""), "203.0.113.1").pollToken(), "203.0.113.1");
    assertThat(ops.apiKeys.get(first.apiKeyId()).name()).isEqualTo("device-cli");
    assertThat(ops.apiKeys.get(second.apiKeyId()).name()).isEqualTo("device-cli-2");
  }

  @Test
  void anUnknownOrExpiredTokenIsNotFound() {
    assertThat(catchThrowableOfType(BoxdException.class, () -> logins.poll("made-up", "203.0.113.1")).code()).isEqualTo(ErrorCode.NOT_FOUND);
    var started = logins.start(request("k1", "x"), "203.0.113.1");
    clock.advance(Duration.ofHours(1));
    assertThat(catchThrowableOfType(BoxdException.class, () -> logins.poll(started.pollToken(), "203.0.113.1")).code())
        .isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(logins.inProgress()).isZero();
  }

  @Test
  void keyNamesAreDnsLabels() {
    assertThat(DeviceLogins.keyName("")).isEqualTo("device-cli");
    assertThat(DeviceLogins.keyName("--")).isEqualTo("device-cli");
    assertThat(DeviceLogins.keyName("MacBook Pro (2)")).isEqualTo("device-macbook-pro-2");
    String longName = DeviceLogins.keyName("x".repeat(200));
    assertThat(longName).hasSizeLessThanOrEqualTo(59).matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?");
  }

  @Test
  void startAndPollAreRateLimitedPerSource() {
    var limited = new DeviceLogins(registrations, user -> ops, clock, new RateLimit(1, 2, 10, clock), HOLDS_KEY);
    String token = limited.start(request("k1", ""), "203.0.113.9").pollToken();
    limited.poll(token, "203.0.113.9");
    var refused = catchThrowableOfType(BoxdException.class, () -> limited.poll(token, "203.0.113.9"));
    assertThat(refused.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(refused.getMessage()).isEqualTo("too many device login requests from 203.0.113.9: try again in 1 s");
    assertThat(limited.poll(token, "203.0.113.10").linked()).isFalse(); // another address has its own bucket
  }
}
