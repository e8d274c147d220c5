package dev.boxd.core.state.codec;

import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.TokenSigningKey;
import java.time.Instant;
import java.util.Optional;

/** The wire form of API keys and the token signing key (log tags 37–39, snapshot format 11). */
final class ApiKeyWire {
  /** Longer than any secret this boxd makes: a length past it is corruption, not a key. */
  private static final int MAX_SECRET_BYTES = 1024;

  private ApiKeyWire() {}

  /** A presence byte (0 or 1), then the instant if present. */
  static WireWriter optionalInstant(WireWriter out, Optional<Instant> value) {
    return value.isPresent() ? out.u8(1).instant(value.get()) : out.u8(0);
  }

  static Optional<Instant> optionalInstant(WireReader in) {
    int present = in.u8();
    return switch (present) {
      case 0 -> Optional.empty();
      case 1 -> Optional.of(in.instant());
      default -> throw in.corrupt("presence byte " + present + " is neither 0 nor 1");
    };
  }

  static void apiKey(WireWriter out, ApiKey key) {
    out.string(key.id()).string(key.userId()).string(key.name()).string(key.secretSha256()).instant(key.createdAt());
    optionalInstant(optionalInstant(out, key.expiresAt()), key.revokedAt());
  }

  static ApiKey apiKey(WireReader in) {
    return new ApiKey(in.string(), in.string(), in.string(), in.string(), in.instant(), optionalInstant(in), optionalInstant(in));
  }

  /** The id, then the secret as a length (i32) and its bytes. */
  static WireWriter signingKey(WireWriter out, TokenSigningKey key) {
    byte[] secret = key.secret();
    return out.string(key.id()).i32(secret.length).raw(secret);
  }

  static TokenSigningKey signingKey(WireReader in) {
    String id = in.string();
    int length = in.i32();
    if (length < 0 || length > MAX_SECRET_BYTES) {
      throw in.corrupt("token signing key of " + length + " bytes");
    }
    return new TokenSigningKey(id, in.raw(length));
  }
}
