package dev.boxd.api.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.TokenSigningKey;
import dev.boxd.testkit.state.InMemoryStateStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class JwtTokensTest {
  static final Instant AT = Instant.parse("2026-01-01T00:00:00.250Z");
  static final String SECRET = "bxd_" + "a1B2c3".repeat(7) + "Z";
  static final String SECRET_2 = "bxd_" + "Q".repeat(40);

  private final MovableClock clock = new MovableClock(AT);
  private final InMemoryStateStore store = new InMemoryStateStore();
  private final JwtTokens tokens = new JwtTokens(store, "localhost", clock);

  JwtTokensTest() {
    setUp(store);
  }

  /** Alice (u1) with key_ci (SECRET, no expiry) and key_short (SECRET_2, 2 h), and a signing key. */
  static void setUp(InMemoryStateStore store) {
    store.apply(new Command.CreateUser("u1", "alice", AT, 2));
    store.apply(new Command.CreateApiKey("key_ci", "u1", "ci", ApiKey.hashOf(SECRET), AT, Optional.empty()));
    store.apply(new Command.CreateApiKey("key_short", "u1", "short", ApiKey.hashOf(SECRET_2), AT, Optional.of(AT.plus(Duration.ofHours(2)))));
    store.apply(new Command.SetTokenSigningKey(new TokenSigningKey("sk1", secret((byte) 1)), AT));
  }

  static byte[] secret(byte fill) {
    byte[] bytes = new byte[32];
    java.util.Arrays.fill(bytes, fill);
    return bytes;
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void aGoodTokenNamesItsUserKeyZoneAndSigningKeyAndLivesAnHour() throws Exception {
    JwtTokens.Issued issued = tokens.exchange(SECRET);
    assertThat(issued.userId()).isEqualTo("u1");
    assertThat(issued.expiresAt()).isEqualTo(Instant.parse("2026-01-01T01:00:00Z"));
    SignedJWT jwt = SignedJWT.parse(issued.token());
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.HS256);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo("sk1");
    JWTClaimsSet claims = jwt.getJWTClaimsSet();
    assertThat(claims.getSubject()).isEqualTo("u1");
    assertThat(claims.getStringClaim("key_id")).isEqualTo("key_ci");
    assertThat(claims.getIssuer()).isEqualTo("https://localhost");
    assertThat(claims.getIssueTime().toInstant()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    assertThat(issued.toString()).doesNotContain(issued.token());

    assertThat(tokens.userIdOf(issued.token())).isEqualTo("u1");
    clock.advance(Duration.ofMinutes(59));
    assertThat(JwtTokens.verifier(store, "localhost", clock).userIdOf(issued.token())).isEqualTo("u1");
    assertThat(tokens.exchange(SECRET_2).userId()).as("a 40-character secret is accepted too").isEqualTo("u1");
  }

  @Test
  void anExpiredTokenIsRefusedAfterASmallSkew() {
    String token = tokens.exchange(SECRET).token();
    clock.advance(Duration.ofHours(1).plusSeconds(3));
    assertThat(tokens.userIdOf(token)).as("within the clock skew").isEqualTo("u1");
    clock.advance(Duration.ofSeconds(3));
    assertUnauthenticated(() -> tokens.userIdOf(token), "token expired: exchange your API key again");
  }

  @Test
  void revokingTheKeyEndsItsTokensAtOnceAndItsExchanges() {
    String token = tokens.exchange(SECRET).token();
    store.apply(new Command.RevokeApiKey("key_ci", "u1", AT.plusSeconds(1)));
    assertUnauthenticated(() -> tokens.userIdOf(token), "the API key of this token was revoked");
    assertUnauthenticated(() -> tokens.exchange(SECRET), "this API key was revoked");
  }

  @Test
  void aKeyThatExpiredEndsItsTokensAndExchanges() {
    clock.advance(Duration.ofMinutes(90));
    String token = tokens.exchange(SECRET_2).token();
    clock.advance(Duration.ofMinutes(31));
    assertUnauthenticated(() -> tokens.userIdOf(token), "the API key of this token expired");
    assertUnauthenticated(() -> tokens.exchange(SECRET_2), "this API key expired at 2026-01-01T02:00:00.250Z");
  }

  @Test
  void aTokenOfAnotherClusterIsRefused() {
    // the same users and keys, but another signing key (same id, other secret)
    InMemoryStateStore elsewhere = new InMemoryStateStore();
    elsewhere.apply(new Command.CreateUser("u1", "alice", AT, 2));
    elsewhere.apply(new Command.CreateApiKey("key_ci", "u1", "ci", ApiKey.hashOf(SECRET), AT, Optional.empty()));
    elsewhere.apply(new Command.SetTokenSigningKey(new TokenSigningKey("sk1", secret((byte) 2)), AT));
    String foreign = new JwtTokens(elsewhere, "localhost", clock).exchange(SECRET).token();
    elsewhere.close();
    assertUnauthenticated(() -> tokens.userIdOf(foreign), "token signature not valid for this cluster");
  }

  @Test
  void malformedAndTamperedTokensAreRefused() throws Exception {
    for (String bad : new String[] {"", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", "x".repeat(10_000)}) {
      assertUnauthenticated(() -> tokens.userIdOf(bad), "malformed token");
    }
    String token = tokens.exchange(SECRET).token();
    String[] parts = token.split("\\.");
    // another user put into the claims, the signature kept
    String claims = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("\"u1\"", "\"u2\"");
    String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(claims.getBytes(StandardCharsets.UTF_8))
        + "." + parts[2];
    assertUnauthenticated(() -> tokens.userIdOf(tampered), "token signature not valid for this cluster");
    // no algorithm at all
    String unsigned = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + parts[1] + ".";
    assertUnauthenticated(() -> tokens.userIdOf(unsigned), "malformed token");
    // signed with the right key but naming a key of another account
    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("sk1").build(), new JWTClaimsSet.Builder()
        .issuer("https://localhost").subject("u2").claim("key_id", "key_ci").expirationTime(Date.from(AT.plusSeconds(60))).build());
    forged.sign(new MACSigner(secret((byte) 1)));
    assertUnauthenticated(() -> tokens.userIdOf(forged.serialize()), "belongs to no such account");
    SignedJWT noKey = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("sk1").build(), new JWTClaimsSet.Builder()
        .issuer("https://localhost").subject("u1").expirationTime(Date.from(AT.plusSeconds(60))).build());
    noKey.sign(new MACSigner(secret((byte) 1)));
    assertUnauthenticated(() -> tokens.userIdOf(noKey.serialize()), "malformed token");
  }

  @Test
  void unknownAndMisshapenKeysAreNotExchangedAndNoSigningKeyIsUnavailable() {
    assertUnauthenticated(() -> tokens.exchange("bxd_" + "z".repeat(43)), "unknown API key");
    assertUnauthenticated(() -> tokens.exchange("hunter2"), "not an API key");
    InMemoryStateStore fresh = new InMemoryStateStore();
    fresh.apply(new Command.CreateUser("u1", "alice", AT, 2));
    fresh.apply(new Command.CreateApiKey("key_ci", "u1", "ci", ApiKey.hashOf(SECRET), AT, Optional.empty()));
    assertThatThrownBy(() -> new JwtTokens(fresh, "localhost", clock).exchange(SECRET)).isInstanceOf(BoxdException.class)
        .hasMessageContaining("no token signing key yet").extracting(e -> ((BoxdException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE);
    fresh.close();
  }

  static void assertUnauthenticated(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
    assertThatThrownBy(call).isInstanceOf(BoxdException.class).hasMessageContaining(message)
        .extracting(e -> ((BoxdException) e).code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
  }
}
