package dev.boxd.api.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.state.Command;
import dev.boxd.testkit.state.InMemoryStateStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TokenExchangeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CLIENT = "192.0.2.7";

  private final MovableClock clock = new MovableClock(JwtTokensTest.AT);
  private final InMemoryStateStore store = new InMemoryStateStore();
  private final JwtTokens tokens = new JwtTokens(store, "localhost", clock);
  private final TokenExchange exchange = new TokenExchange(tokens, clock);

  TokenExchangeTest() {
    JwtTokensTest.setUp(store);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private TokenExchange.Response post(String body) {
    return exchange.handle(new TokenExchange.Request("POST", body.getBytes(StandardCharsets.UTF_8), CLIENT));
  }

  @Test
  void aKeyIsExchangedForATokenOfAnHour() throws Exception {
    var response = post("{\"api_key\":\"" + JwtTokensTest.SECRET + "\",\"client\":\"sdk\"}");
    assertThat(response.status()).as(response.json()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.json());
    assertThat(body.get("user_id").asText()).isEqualTo("u1");
    assertThat(body.get("expires_at").isIntegralNumber()).isTrue();
    assertThat(body.get("expires_at").asLong()).isEqualTo(JwtTokensTest.AT.getEpochSecond() + 3600);
    assertThat(tokens.userIdOf(body.get("token").asText())).isEqualTo("u1");
    assertThat(response.headers()).containsEntry("cache-control", "no-store");
  }

  @Test
  void badBodiesAre400() throws Exception {
    assertError(post("not json"), 400, "INVALID_ARGUMENT", "the body is not JSON");
    assertError(post(""), 400, "INVALID_ARGUMENT", "no JSON object");
    assertError(post("[1]"), 400, "INVALID_ARGUMENT", "no JSON object");
    assertError(post("{}"), 400, "INVALID_ARGUMENT", "missing \\\"api_key\\\"");
    assertError(post("{\"api_key\":null}"), 400, "INVALID_ARGUMENT", "missing \\\"api_key\\\"");
    assertError(post("{\"api_key\":42}"), 400, "INVALID_ARGUMENT", "must be a string");
    assertError(post("{\"api_key\":\"x\"} {}"), 400, "INVALID_ARGUMENT", "not JSON");
  }

  @Test
  void otherMethodsAre405() throws Exception {
    var response = exchange.handle(new TokenExchange.Request("GET", new byte[0], CLIENT));
    assertError(response, 405, "INVALID_ARGUMENT", "use POST");
    assertThat(response.headers()).containsEntry("allow", "POST");
  }

  @Test
  void unknownRevokedAndExpiredKeysAre401() throws Exception {
    assertError(post("{\"api_key\":\"bxd_" + "z".repeat(43) + "\"}"), 401, "UNAUTHENTICATED", "unknown API key");
    assertError(post("{\"api_key\":\"secret\"}"), 401, "UNAUTHENTICATED", "not an API key");
    store.apply(new Command.RevokeApiKey("key_ci", "u1", JwtTokensTest.AT));
    assertError(post("{\"api_key\":\"" + JwtTokensTest.SECRET + "\"}"), 401, "UNAUTHENTICATED", "revoked");
    clock.advance(Duration.ofHours(3));
    assertError(post("{\"api_key\":\"" + JwtTokensTest.SECRET_2 + "\"}"), 401, "UNAUTHENTICATED", "expired");
  }

  @Test
  void aSourceOverItsRateIs429WithRetryAfterWhileOthersGoOn() throws Exception {
    String body = "{\"api_key\":\"" + JwtTokensTest.SECRET + "\"}";
    for (int i = 0; i < TokenExchange.BURST; i++) {
      assertThat(post(body).status()).as("request %d", i).isEqualTo(200);
    }
    var limited = post(body);
    assertError(limited, 429, "RESOURCE_EXHAUSTED", "too many token requests");
    assertThat(limited.headers()).containsEntry("retry-after", "1");
    assertThat(exchange.handle(new TokenExchange.Request("POST", body.getBytes(StandardCharsets.UTF_8), "198.51.100.1")).status())
        .isEqualTo(200);
    clock.advance(Duration.ofMillis(100)); // one more at 10/s
    assertThat(post(body).status()).isEqualTo(200);
    assertThat(post(body).status()).isEqualTo(429);
  }

  @Test
  void theGrpcExchangeChecksTheSameAndSharesTheRateOfItsSource() {
    var issued = exchange.exchange(JwtTokensTest.SECRET, CLIENT);
    assertThat(tokens.userIdOf(issued.token())).isEqualTo(issued.userId());
    var unknown = org.assertj.core.api.Assertions.catchThrowableOfType(dev.boxd.core.BoxdException.class,
        () -> exchange.exchange("bxd_" + "0".repeat(43), CLIENT));
    assertThat(unknown.code()).isEqualTo(dev.boxd.core.ErrorCode.UNAUTHENTICATED);
    assertThat(unknown.getMessage()).isEqualTo("unknown API key");
    String body = "{\"api_key\":\"" + JwtTokensTest.SECRET + "\"}";
    for (int i = 2; i < TokenExchange.BURST; i++) {
      assertThat(post(body).status()).as("request %d", i).isEqualTo(200);
    }
    var limited = org.assertj.core.api.Assertions.catchThrowableOfType(dev.boxd.core.BoxdException.class,
        () -> exchange.exchange(JwtTokensTest.SECRET, CLIENT));
    assertThat(limited.code()).isEqualTo(dev.boxd.core.ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(limited.getMessage()).isEqualTo("too many token requests from " + CLIENT + ": try again in 1 s");
  }

  @Test
  void theRateLimitKeepsABoundedNumberOfSources() {
    RateLimit limit = new RateLimit(1, 1, 3, clock);
    for (int i = 0; i < 100; i++) {
      assertThat(limit.take("10.0.0." + i)).isEmpty();
    }
    assertThat(limit.sources()).isEqualTo(3);
    assertThat(limit.take("10.0.0.99")).hasValue(1);
  }

  private static void assertError(TokenExchange.Response response, int status, String code, String message) throws Exception {
    assertThat(response.status()).as(response.json()).isEqualTo(status);
    JsonNode error = JSON.readTree(response.json()).get("error");
    assertThat(error.get("code").asText()).isEqualTo(code);
    assertThat(response.json()).contains(message);
  }
}
