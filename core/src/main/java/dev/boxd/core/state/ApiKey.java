package dev.boxd.core.state;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An API key of an account (SPEC §7, §12): exchanged for short-lived tokens of the gRPC API. Only
 * a hash of its secret is kept; the secret ({@code bxd_} and 43 base62 characters) is shown once,
 * when the key is made. {@code id} ({@code key_} and 16 base62 characters) names the key in lists
 * and tokens and is no secret.
 *
 * <p>SHA-256 without salt or stretching is the right hash here: the secret is 256 bits from a
 * SecureRandom, not a password, so there is no dictionary to guess from and a slow hash would only
 * slow the token exchange down.
 */
public record ApiKey(String id, String userId, String name, String secretSha256, Instant createdAt, Optional<Instant> expiresAt,
    Optional<Instant> revokedAt) {
  /** An account's keys, revoked and expired ones included until newer ones push them out. */
  public static final int MAX_PER_USER = 100;
  public static final String SECRET_PREFIX = "bxd_";
  public static final String ID_PREFIX = "key_";
  /** {@code bxd_} and 43 base62 characters (256 bits); 40 are accepted too, as SPEC §7 first wrote it. */
  private static final Pattern SECRET = Pattern.compile("^bxd_(?:[0-9A-Za-z]{43}|[0-9A-Za-z]{40})$");
  private static final Pattern SHA256_HEX = Pattern.compile("^[0-9a-f]{64}$");

  public ApiKey {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(secretSha256, "secretSha256");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(revokedAt, "revokedAt");
  }

  public boolean isRevoked() {
    return revokedAt.isPresent();
  }

  public boolean expiredAt(Instant at) {
    return expiresAt.isPresent() && !at.isBefore(expiresAt.get());
  }

  /** Neither revoked nor expired at {@code at}: it may be exchanged for tokens, and its tokens are accepted. */
  public boolean usableAt(Instant at) {
    return !isRevoked() && !expiredAt(at);
  }

  ApiKey revoked(Instant at) {
    return new ApiKey(id, userId, name, secretSha256, createdAt, expiresAt, Optional.of(at));
  }

  /** Whether {@code value} has the form of a secret; says nothing of whether any key has it. */
  public static boolean looksLikeSecret(String value) {
    return value != null && SECRET.matcher(value).matches();
  }

  static boolean isSha256Hex(String value) {
    return SHA256_HEX.matcher(value).matches();
  }

  /** Lower-case hex SHA-256 of the secret's UTF-8: what the state keeps and looks a secret up by. */
  public static String hashOf(String secret) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "ApiKey[id=" + id + ", userId=" + userId + ", name=" + name + ", createdAt=" + createdAt + ", expiresAt="
        + expiresAt.orElse(null) + ", revokedAt=" + revokedAt.orElse(null) + "]"; // never the hash
  }
}
