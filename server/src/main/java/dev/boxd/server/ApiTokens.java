package dev.boxd.server;

import dev.boxd.api.auth.JwtTokens;
import dev.boxd.api.auth.TokenExchange;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.TokenSigningKey;
import dev.boxd.edge.http.ZonePages;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API's tokens on this node: the cluster's signing key made if the replica has none, the
 * verifier the gRPC service checks bearers with, and the token exchange served at the zone
 * ({@value TokenExchange#PATH}), adapted from the edge's zone pages (the api module knows no edge).
 */
final class ApiTokens {
  private static final Logger log = LoggerFactory.getLogger(ApiTokens.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final JwtTokens tokens;
  private final TokenExchange exchange;

  private ApiTokens(JwtTokens tokens, Clock clock) {
    this.tokens = tokens;
    this.exchange = new TokenExchange(tokens, clock);
  }

  /** After the replica is current: a key made by an earlier start (or another node) is kept, never replaced. */
  static ApiTokens start(StateStore store, String zone, java.time.Duration tokenLifetime, Clock clock) {
    ensureSigningKey(store, clock);
    return new ApiTokens(new JwtTokens(store, zone, clock, tokenLifetime), clock);
  }

  static void ensureSigningKey(StateStore store, Clock clock) {
    if (store.read().tokenSigningKey().isPresent()) {
      return;
    }
    byte[] secret = new byte[TokenSigningKey.SECRET_BYTES];
    RANDOM.nextBytes(secret);
    byte[] id = new byte[6];
    RANDOM.nextBytes(id);
    Result result = store.propose(new Command.SetTokenSigningKey(new TokenSigningKey("sk_" + HexFormat.of().formatHex(id), secret),
        clock.instant()));
    // Rejected when another node's key was written first: the log keeps the first, and so do we.
    log.info("token signing key: {}", result.isOk() ? "made" : "kept the one another node made");
  }

  /** The verifier for the gRPC service: bearer tokens checked against this node's replica. */
  dev.boxd.api.auth.TokenVerifier verifier() {
    return tokens;
  }

  /** The token exchange itself, which the gRPC API offers too (with the same rate limit per address). */
  TokenExchange exchange() {
    return exchange;
  }

  /** The token exchange as a page at the zone. */
  ZonePages exchangePage() {
    return request -> {
      TokenExchange.Response response = exchange.handle(new TokenExchange.Request(request.method(), request.body(), request.client()));
      return new ZonePages.Response(response.status(), "application/json",
          (response.json() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8), response.headers());
    };
  }
}
