package dev.boxd.api.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.io.IOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * {@code POST /api/v1/auth/token} (SPEC §2, §12): {@code {"api_key":"bxd_…"}} in, {@code
 * {"token","expires_at","user_id"}} out, {@code expires_at} in unix seconds. Errors are the one
 * JSON error shape with the status of their code: 400 for a body that is no such JSON object, 405
 * for another method than POST, 401 for a key that is unknown, revoked or expired, 429 (with
 * {@code Retry-After}) for a source address over its rate. Kept free of any HTTP server: the edge's
 * zone pages carry it, adapted by the server.
 */
public final class TokenExchange {
  public static final String PATH = "/api/v1/auth/token";
  /** Generous for code that exchanges once an hour, tight for guessing keys (which 256 bits make hopeless anyway). */
  static final double PER_SECOND = 10;
  static final int BURST = 20;
  static final int MAX_SOURCES = 10_000;

  private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final JwtTokens tokens;
  private final RateLimit limit;

  /** The request as the exchange needs it: the method, the body, the client's address. */
  public record Request(String method, byte[] body, String client) {
    public Request {
      Objects.requireNonNull(method, "method");
      body = body == null ? new byte[0] : body;
      Objects.requireNonNull(client, "client");
    }
  }

  /** @param headers extra headers ({@code allow}, {@code retry-after}); the body is always JSON */
  public record Response(int status, String json, Map<String, String> headers) {}

  public TokenExchange(JwtTokens tokens, Clock clock) {
    this(tokens, new RateLimit(PER_SECOND, BURST, MAX_SOURCES, clock));
  }

  TokenExchange(JwtTokens tokens, RateLimit limit) {
    this.tokens = tokens;
    this.limit = limit;
  }

  public Response handle(Request request) {
    OptionalLong retryAfter = limit.take(request.client());
    if (retryAfter.isPresent()) {
      return error(ErrorCode.RESOURCE_EXHAUSTED, 429, tooMany(request.client(), retryAfter.getAsLong()),
          Map.of("retry-after", Long.toString(retryAfter.getAsLong())));
    }
    if (!request.method().equals("POST")) {
      return error(ErrorCode.INVALID_ARGUMENT, 405, "use POST with {\"api_key\":\"bxd_...\"} to get a token, not " + request.method(),
          Map.of("allow", "POST"));
    }
    String secret;
    try {
      secret = apiKeyOf(request.body());
    } catch (BoxdException e) {
      return error(e.code(), 400, e.getMessage(), Map.of());
    }
    try {
      JwtTokens.Issued issued = tokens.exchange(secret);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("token", issued.token());
      body.put("expires_at", issued.expiresAt().getEpochSecond());
      body.put("user_id", issued.userId());
      return new Response(200, write(body), Map.of("cache-control", "no-store"));
    } catch (BoxdException e) {
      return error(e.code(), e.code().httpStatus(), e.getMessage(), Map.of());
    }
  }

  /**
   * The exchange as other surfaces offer it (the gRPC {@code ExchangeApiKey}): the same rate
   * limit, shared with the HTTPS path, and the same checks. RESOURCE_EXHAUSTED for a source over
   * its rate, UNAUTHENTICATED for a key that is unknown, revoked or expired, UNAVAILABLE before
   * the cluster has its signing key.
   */
  public JwtTokens.Issued exchange(String apiKey, String client) {
    OptionalLong retryAfter = limit.take(client);
    if (retryAfter.isPresent()) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, tooMany(client, retryAfter.getAsLong()));
    }
    return tokens.exchange(apiKey);
  }

  private static String tooMany(String client, long retryAfterSecs) {
    return "too many token requests from " + client + ": try again in " + retryAfterSecs + " s";
  }

  /**
   * The {@code api_key} of a JSON object. Other members are ignored, so that clients that send
   * more (a client name, say) are not refused; the content type is not checked, since
   * {@code curl -d} sends a form's.
   */
  private static String apiKeyOf(byte[] body) {
    JsonNode document;
    try {
      document = JSON.readTree(body);
    } catch (IOException e) {
      throw BoxdException.invalid("the body is not JSON: expected {\"api_key\":\"bxd_...\"}");
    }
    if (document == null || document.isMissingNode() || !document.isObject()) {
      throw BoxdException.invalid("the body is no JSON object: expected {\"api_key\":\"bxd_...\"}");
    }
    JsonNode key = document.get("api_key");
    if (key == null || key.isNull()) {
      throw BoxdException.invalid("missing \"api_key\": expected {\"api_key\":\"bxd_...\"}");
    }
    if (!key.isTextual()) {
      throw BoxdException.invalid("\"api_key\" must be a string: expected {\"api_key\":\"bxd_...\"}");
    }
    return key.asText();
  }

  private static Response error(ErrorCode code, int status, String message, Map<String, String> headers) {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("code", code.name());
    inner.put("message", message);
    return new Response(status, write(Map.of("error", inner)), headers);
  }

  private static String write(Object document) {
    try {
      return JSON.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render JSON", e);
    }
  }
}
