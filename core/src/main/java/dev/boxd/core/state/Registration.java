package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * An unknown key waiting to be linked: the first connection with it got a URL carrying
 * {@code code}; approving the code before {@code expiresAt} links the key to an account.
 */
public record Registration(String code, String fingerprint, String publicKey, Instant expiresAt) {
  public Registration {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  /** Expired at {@code at}: the deadline itself is already too late. */
  public boolean expiredAt(Instant at) {
    return !at.isBefore(expiresAt);
  }
}
