package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import io.grpc.Status;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * API keys over SSH and the token exchange over the edge's HTTPS, against a real server with
 * curl, as code that drives the API gets its tokens, and those tokens at the gRPC API: what lets
 * a bearer in and what does not. Tokens live 8 s here, so one can be seen to expire. No VM is made.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiKeyTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer("--warm-pool", "0", "--token-lifetime-secs", "8");
  static SshUser alice;
  static Path caFile;
  static String userId;
  static JsonNode key;
  static String firstToken;

  @BeforeAll
  static void setUp() throws Exception {
    alice = live.user("alice");
    caFile = Files.createTempFile("boxd-api-key-test-ca-", ".pem");
    Files.writeString(caFile, live.server().caCertificate());
    userId = json(alice.run("whoami", "--json")).path("user_id").asText();
    assertThat(userId).isNotEmpty();
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (caFile != null) {
      Files.deleteIfExists(caFile);
    }
  }

  @Test
  @Order(1)
  void aKeyMadeOverSshIsExchangedForATokenOfAnHour() throws Exception {
    key = json(alice.run("api-key", "create", "ci", "--json"));
    String secret = key.path("api_key").asText();
    assertThat(secret).matches("bxd_[0-9A-Za-z]{43}");
    assertThat(key.path("id").asText()).matches("key_[0-9A-Za-z]{16}");
    assertThat(key.path("name").asText()).isEqualTo("ci");

    Http exchanged = exchange("{\"api_key\":\"" + secret + "\"}");
    assertThat(exchanged.status()).as(exchanged.body()).isEqualTo(200);
    JsonNode body = LiveServer.JSON.readTree(exchanged.body());
    assertThat(body.path("user_id").asText()).isEqualTo(userId);
    assertThat(body.path("expires_at").isIntegralNumber()).isTrue();
    assertThat(body.path("expires_at").asLong()).isBetween(Instant.now().getEpochSecond() + 8 - 5, Instant.now().getEpochSecond() + 8);
    firstToken = body.path("token").asText();
    try (ApiClient client = ApiClient.withToken(live.server(), caFile, firstToken)) {
      assertThat(client.api().whoami(WhoamiRequest.getDefaultInstance()).getUserId()).as("the token lets its bearer in").isEqualTo(userId);
    }
    JsonNode claims = LiveServer.JSON.readTree(Base64.getUrlDecoder().decode(firstToken.split("\\.")[1]));
    assertThat(claims.path("sub").asText()).isEqualTo(userId);
    assertThat(claims.path("key_id").asText()).isEqualTo(key.path("id").asText());
    assertThat(claims.path("iss").asText()).isEqualTo("https://localhost");
  }

  @Test
  @Order(2)
  void theListShowsTheKeyButNeverItsSecret() throws Exception {
    SshUser.Run list = alice.run("api-key", "list", "--json");
    assertThat(list.exit()).as(list.err()).isZero();
    JsonNode keys = json(list);
    assertThat(keys).hasSize(1);
    assertThat(keys.get(0).path("id").asText()).isEqualTo(key.path("id").asText());
    assertThat(keys.get(0).path("revoked").asBoolean()).isFalse();
    assertThat(list.out()).doesNotContain("bxd_").doesNotContain(key.path("api_key").asText().substring(4));
  }

  @Test
  @Order(3)
  void badRequestsGetClearErrors() throws Exception {
    Http notJson = exchange("api_key=bxd_x");
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.body()).contains("\"code\":\"INVALID_ARGUMENT\"").contains("not JSON");
    Http missing = exchange("{\"key\":\"x\"}");
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.body()).contains("missing \\\"api_key\\\"");
    Http unknown = exchange("{\"api_key\":\"bxd_" + "0".repeat(43) + "\"}");
    assertThat(unknown.status()).isEqualTo(401);
    assertThat(unknown.body()).contains("\"code\":\"UNAUTHENTICATED\"").contains("unknown API key");
    Http get = curl(List.of("-i", url()));
    assertThat(get.body()).contains("405").containsIgnoringCase("allow: POST");
  }

  @Test
  @Order(4)
  void aRevokedKeyIsExchangedNoMoreAndItsTokensStopAtOnce() throws Exception {
    String token = ApiClient.exchange(live.server(), caFile, key.path("api_key").asText());
    try (ApiClient client = ApiClient.withToken(live.server(), caFile, token)) {
      assertThat(client.api().whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo(userId);
      SshUser.Run revokedNow = alice.run("api-key", "revoke", "ci", "--json");
      assertThat(revokedNow.exit()).as(revokedNow.err()).isZero();
      Status refused = ApiClient.statusOf(() -> client.api().whoami(WhoamiRequest.getDefaultInstance()));
      assertThat(refused.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(refused.getDescription()).isEqualTo("the API key of this token was revoked");
    }
  }

  @Test
  @Order(5)
  void aRevokedKeyIsListedRevokedAndExchangedNoMore() throws Exception {
    Http refused = exchange("{\"api_key\":\"" + key.path("api_key").asText() + "\"}");
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.body()).contains("\"code\":\"UNAUTHENTICATED\"").contains("revoked");
    assertThat(json(alice.run("api-key", "list", "--json")).get(0).path("revoked").asBoolean()).isTrue();
  }

  @Test
  @Order(6)
  void anExpiredTokenAnotherClustersTokenAMalformedOneAndNoneAreRefused() throws Exception {
    String secret = json(alice.run("api-key", "create", "short", "--json")).path("api_key").asText();
    String token = ApiClient.exchange(live.server(), caFile, secret);
    try (ApiClient client = ApiClient.withToken(live.server(), caFile, token)) {
      assertThat(client.api().whoami(WhoamiRequest.getDefaultInstance()).getUserId()).isEqualTo(userId);
      // 8 s of life and 5 s of clock skew allowed
      Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        Status expired = ApiClient.statusOf(() -> client.api().whoami(WhoamiRequest.getDefaultInstance()));
        assertThat(expired.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(expired.getDescription()).isEqualTo("token expired: exchange your API key again");
      });
    }
    // The same claims, signed by a key of another cluster.
    String fresh = ApiClient.exchange(live.server(), caFile, secret);
    String[] parts = fresh.split("\\.");
    byte[] otherKey = new byte[32];
    new java.security.SecureRandom().nextBytes(otherKey);
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new javax.crypto.spec.SecretKeySpec(otherKey, "HmacSHA256"));
    String forged = parts[0] + "." + parts[1] + "."
        + Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII)));
    for (var bad : java.util.Map.of("Bearer " + forged, "token signature not valid for this cluster", "Bearer not-a-jwt", "malformed token",
        "Basic dXNlcjpwYXNz", "POST /api/v1/auth/token").entrySet()) {
      try (ApiClient client = ApiClient.connect(live.server(), caFile, bad.getKey())) {
        Status refused = ApiClient.statusOf(() -> client.api().whoami(WhoamiRequest.getDefaultInstance()));
        assertThat(refused.getCode()).as(bad.getKey()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(refused.getDescription()).as(bad.getKey()).contains(bad.getValue());
      }
    }
    try (ApiClient client = ApiClient.connect(live.server(), caFile, null)) {
      Status none = ApiClient.statusOf(() -> client.api().listVms(dev.boxd.api.v1.ListVmsRequest.getDefaultInstance()));
      assertThat(none.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(none.getDescription()).contains("POST /api/v1/auth/token");
    }
  }

  @Test
  @Order(7)
  void oneSourceOverItsRateGets429WithRetryAfter() throws Exception {
    List<String> args = new ArrayList<>(List.of("-Z", "--parallel-max", "50", "-X", "POST", "-d", "{}",
        "-w", "\\n%{http_code} %header{retry-after}\\n"));
    for (int i = 0; i < 60; i++) {
      args.add(url());
    }
    Http burst = curl(args);
    // each transfer prints its JSON body, then its status and Retry-After on a line of their own
    List<String> lines = burst.body().lines().filter(line -> line.matches("[0-9]{3} .*")).toList();
    assertThat(lines).hasSize(60);
    assertThat(lines).anyMatch(line -> line.matches("429 [1-9][0-9]*"));
    assertThat(lines).anyMatch(line -> line.startsWith("400 "));
  }

  @Test
  @Order(8)
  void theSigningKeyOutlivesARestart() throws Exception {
    String kid = header(firstToken).path("kid").asText();
    live.server().kill9();
    live.server().start();
    key = json(alice.run("api-key", "create", "after-restart", "--json"));
    Http exchanged = exchange("{\"api_key\":\"" + key.path("api_key").asText() + "\"}");
    assertThat(exchanged.status()).as(exchanged.body()).isEqualTo(200);
    String token = LiveServer.JSON.readTree(exchanged.body()).path("token").asText();
    assertThat(header(token).path("kid").asText()).isEqualTo(kid);
  }

  private static JsonNode header(String token) throws Exception {
    return LiveServer.JSON.readTree(Base64.getUrlDecoder().decode(token.split("\\.")[0]));
  }

  record Http(int status, String body) {}

  private static String url() {
    return "https://localhost:" + live.server().httpsPort + "/api/v1/auth/token";
  }

  /** POSTs {@code body} to the exchange; the status comes from curl's last line. */
  private static Http exchange(String body) throws Exception {
    Http run = curl(List.of("-X", "POST", "-d", body, "-w", "\\n%{http_code}", url()));
    String out = run.body();
    int cut = out.lastIndexOf('\n');
    return new Http(Integer.parseInt(out.substring(cut + 1).trim()), out.substring(0, cut));
  }

  /** Runs curl with the server's CA, localhost resolved to loopback; the body is what it printed. */
  private static Http curl(List<String> args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--no-progress-meter", "--max-time", "60", "--cacert", caFile.toString(),
        "--resolve", "localhost:" + live.server().httpsPort + ":127.0.0.1"));
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Http(process.waitFor(), out);
  }
}
