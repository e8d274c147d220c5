package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ApiKeyTokensTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  final ManualClock clock = new ManualClock(T0);
  final AtomicInteger exchanges = new AtomicInteger();
  Duration life = Duration.ofHours(1);

  ApiKeyTokens.Issued exchange(String key) {
    assertThat(key).isEqualTo("bxd_key");
    int n = exchanges.incrementAndGet();
    return new ApiKeyTokens.Issued("jwt-" + n, clock.instant().plus(life));
  }

  @Test
  void exchangesOnFirstUseAndKeepsTheTokenUntilAMinuteBeforeItExpires() {
    var tokens = new ApiKeyTokens("bxd_key", this::exchange, clock);
    assertThat(exchanges).hasValue(0);
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofMinutes(58));
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(59));
    assertThat(tokens.current().token()).as("61 s before expiry").isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(1));
    assertThat(tokens.current().token()).as("60 s before expiry").isEqualTo("jwt-2");
    assertThat(exchanges).hasValue(2);
  }

  @Test
  void aShortLivedTokenIsRenewedHalfwayRatherThanOnEveryCall() {
    life = Duration.ofSeconds(90);
    var tokens = new ApiKeyTokens("bxd_key", this::exchange, clock);
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(44));
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(1));
    assertThat(tokens.current().token()).isEqualTo("jwt-2");
  }

  @Test
  void aClockFarAheadOfTheServersStillReusesEachTokenForAWhile() {
    life = Duration.ofHours(-2); // the server's expiry is two hours before this client's now
    var tokens = new ApiKeyTokens("bxd_key", this::exchange, clock);
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(9));
    assertThat(tokens.current().token()).isEqualTo("jwt-1");
    clock.advance(Duration.ofSeconds(1));
    assertThat(tokens.current().token()).isEqualTo("jwt-2");
  }

  @Test
  void anExpiredAnswerDropsTheTokenThatCallCarriedOnly() {
    var tokens = new ApiKeyTokens("bxd_key", this::exchange, clock);
    TokenSource.Current first = tokens.current();
    tokens.expired(first.generation());
    TokenSource.Current second = tokens.current();
    assertThat(second.token()).isEqualTo("jwt-2");
    assertThat(second.generation()).isGreaterThan(first.generation());
    // A slow call that carried the first token fails after the renewal: the new token stays.
    tokens.expired(first.generation());
    assertThat(tokens.current().token()).isEqualTo("jwt-2");
    assertThat(exchanges).hasValue(2);
    assertThat(tokens.renewable()).isTrue();
  }

  @Test
  void aRefusedExchangeFailsTheCallerAndTheNextCallTriesAgain() {
    AtomicInteger attempts = new AtomicInteger();
    var tokens = new ApiKeyTokens("bxd_key", key -> {
      if (attempts.incrementAndGet() == 1) {
        throw new APIConnectionError(Status.Code.UNAVAILABLE, "down", null);
      }
      return new ApiKeyTokens.Issued("jwt", clock.instant().plus(life));
    }, clock);
    assertThatThrownBy(tokens::current).isInstanceOf(APIConnectionError.class);
    assertThat(tokens.current().token()).isEqualTo("jwt");
  }

  @Test
  void concurrentCallersShareOneExchange() throws Exception {
    CountDownLatch inExchange = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    var tokens = new ApiKeyTokens("bxd_key", key -> {
      exchanges.incrementAndGet();
      inExchange.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return new ApiKeyTokens.Issued("jwt", clock.instant().plus(life));
    }, clock);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<String>> calls = new ArrayList<>();
      calls.add(pool.submit(() -> tokens.current().token()));
      inExchange.await();
      for (int i = 0; i < 7; i++) {
        calls.add(pool.submit(() -> tokens.current().token()));
      }
      release.countDown();
      for (Future<String> call : calls) {
        assertThat(call.get()).isEqualTo("jwt");
      }
      assertThat(exchanges).hasValue(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aGivenTokenIsSentAsIsAndCannotBeRenewed() {
    var fixed = new TokenSource.Fixed("eyJ.given");
    assertThat(fixed.current().token()).isEqualTo("eyJ.given");
    fixed.expired(0);
    assertThat(fixed.current().token()).isEqualTo("eyJ.given");
    assertThat(fixed.renewable()).isFalse();
    assertThat(fixed.toString()).doesNotContain("eyJ");
  }
}
