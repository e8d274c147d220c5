package dev.boxd.api.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.TokenSigningKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Objects;

/**
 * The API's tokens: HS256 JWTs signed with the cluster's {@link TokenSigningKey}, which every
 * node has in its replica, so any node verifies what any node issued. A token names its user
 * ({@code sub}), the API key it came from ({@value #KEY_CLAIM}), the zone ({@code iss}) and the
 * signing key ({@code kid}), and lives {@link #LIFETIME} unless the operator chose otherwise.
 *
 * <p>Verifying reads the replica on every call, so revoking a key (or letting it expire) ends its
 * tokens at once, not when they expire; what that costs is one map lookup.
 */
public final class JwtTokens implements TokenVerifier {
  public static final Duration LIFETIME = Duration.ofHours(1);
  /**
   * How far apart the clocks of the node that issued and the node that verifies may be: nodes of
   * one cluster keep time by NTP, within milliseconds of each other.
   */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(5);
  static final String KEY_CLAIM = "key_id";
  /** Far longer than any token this class issues (~400 bytes): a longer one is not worth parsing. */
  private static final int MAX_TOKEN_CHARS = 8 * 1024;

  static final String EXPIRED = "token expired: exchange your API key again";
  static final String REVOKED = "the API key of this token was revoked";
  static final String FOREIGN = "token signature not valid for this cluster";
  static final String MALFORMED = "malformed token";

  private final StateStore store;
  private final String issuer;
  private final Clock clock;
  private final Duration lifetime;

  /** A token and what the exchange answers with it. */
  public record Issued(String token, Instant expiresAt, String userId) {
    @Override
    public String toString() {
      return "Issued[userId=" + userId + ", expiresAt=" + expiresAt + "]"; // never the token
    }
  }

  /** @param zone the cluster's zone, named in every token's {@code iss} */
  public JwtTokens(StateStore store, String zone, Clock clock) {
    this(store, zone, clock, LIFETIME);
  }

  /** @param lifetime how long an issued token is good for */
  public JwtTokens(StateStore store, String zone, Clock clock, Duration lifetime) {
    this.store = Objects.requireNonNull(store, "store");
    this.issuer = "https://" + Objects.requireNonNull(zone, "zone");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (lifetime.isNegative() || lifetime.isZero()) {
      throw new IllegalArgumentException("a token's lifetime must be positive, not " + lifetime);
    }
    this.lifetime = lifetime;
  }

  /** What the gRPC service checks bearers with: tokens verified against {@code store}'s replica. */
  public static TokenVerifier verifier(StateStore store, String zone, Clock clock) {
    return new JwtTokens(store, zone, clock);
  }

  /**
   * A token for the key whose secret is {@code secret}. UNAUTHENTICATED (safe to show) when no
   * usable key has that secret; UNAVAILABLE while the cluster has no signing key yet.
   */
  public Issued exchange(String secret) {
    if (!ApiKey.looksLikeSecret(secret)) {
      throw unauthenticated("not an API key: expected bxd_ and 43 letters or digits, as api-key create printed it");
    }
    ClusterState state = store.read();
    Instant now = clock.instant();
    ApiKey key = state.apiKeyByHash(ApiKey.hashOf(secret)).orElseThrow(() -> unauthenticated("unknown API key"));
    if (key.isRevoked()) {
      throw unauthenticated("this API key was revoked: make a new one with api-key create");
    }
    if (key.expiredAt(now)) {
      throw unauthenticated("this API key expired at " + key.expiresAt().get() + ": make a new one with api-key create");
    }
    if (state.user(key.userId()).isEmpty()) {
      throw unauthenticated("the account of this API key no longer exists");
    }
    return issue(state, key, now);
  }

  private Issued issue(ClusterState state, ApiKey key, Instant now) {
    TokenSigningKey signing = state.tokenSigningKey()
        .orElseThrow(() -> new BoxdException(ErrorCode.UNAVAILABLE, "this cluster has no token signing key yet: try again in a moment"));
    Instant issuedAt = now.truncatedTo(ChronoUnit.SECONDS); // a JWT's times are whole seconds
    Instant expiresAt = issuedAt.plus(lifetime);
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject(key.userId())
        .claim(KEY_CLAIM, key.id())
        .issueTime(Date.from(issuedAt))
        .expirationTime(Date.from(expiresAt))
        .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).keyID(signing.id()).build(), claims);
    try {
      jwt.sign(new MACSigner(signing.secret()));
    } catch (JOSEException e) {
      throw BoxdException.internal("cannot sign a token", e);
    }
    return new Issued(jwt.serialize(), expiresAt, key.userId());
  }

  @Override
  public String userIdOf(String token) {
    SignedJWT jwt = parse(token);
    ClusterState state = store.read();
    checkSignature(jwt, state);
    JWTClaimsSet claims = claims(jwt);
    Instant now = clock.instant();
    Date expires = claims.getExpirationTime();
    if (expires == null || !now.isBefore(expires.toInstant().plus(CLOCK_SKEW))) {
      throw unauthenticated(EXPIRED);
    }
    String userId = claims.getSubject();
    String keyId = stringClaim(claims, KEY_CLAIM);
    if (userId == null || keyId == null || !issuer.equals(claims.getIssuer())) {
      throw unauthenticated(MALFORMED);
    }
    ApiKey key = state.apiKey(keyId).orElseThrow(() -> unauthenticated(REVOKED)); // kept until revoked or expired keys make room
    if (key.isRevoked()) {
      throw unauthenticated(REVOKED);
    }
    if (key.expiredAt(now)) {
      throw unauthenticated("the API key of this token expired: make a new one with api-key create");
    }
    if (!key.userId().equals(userId) || state.user(userId).isEmpty()) {
      throw unauthenticated("the API key of this token belongs to no such account");
    }
    return userId;
  }

  private static SignedJWT parse(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
      throw unauthenticated(MALFORMED);
    }
    try {
      return SignedJWT.parse(token);
    } catch (ParseException | RuntimeException e) {
      throw unauthenticated(MALFORMED);
    }
  }

  private static void checkSignature(SignedJWT jwt, ClusterState state) {
    TokenSigningKey signing = state.tokenSigningKey().orElseThrow(() -> unauthenticated(FOREIGN));
    if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm()) || !signing.id().equals(jwt.getHeader().getKeyID())) {
      throw unauthenticated(FOREIGN);
    }
    try {
      if (!jwt.verify(new MACVerifier(signing.secret()))) {
        throw unauthenticated(FOREIGN);
      }
    } catch (JOSEException e) {
      throw unauthenticated(FOREIGN);
    }
  }

  private static JWTClaimsSet claims(SignedJWT jwt) {
    try {
      return jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw unauthenticated(MALFORMED);
    }
  }

  private static String stringClaim(JWTClaimsSet claims, String name) {
    try {
      return claims.getStringClaim(name);
    } catch (ParseException e) {
      return null;
    }
  }

  private static BoxdException unauthenticated(String message) {
    return new BoxdException(ErrorCode.UNAUTHENTICATED, message);
  }
}
