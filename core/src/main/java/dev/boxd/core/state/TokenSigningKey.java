package dev.boxd.core.state;

import java.util.Arrays;
import java.util.Objects;

/**
 * The cluster's key for signing API tokens (HMAC-SHA256): 256 random bits made once, by the first
 * server that finds none, and kept in the replicated state so that every node verifies the tokens
 * any node issued. {@code id} goes into each token's header ({@code kid}).
 */
public record TokenSigningKey(String id, byte[] secret) {
  public static final int SECRET_BYTES = 32;

  public TokenSigningKey {
    Objects.requireNonNull(id, "id");
    secret = Objects.requireNonNull(secret, "secret").clone();
  }

  /** A copy: the key stays as the log made it. */
  @Override
  public byte[] secret() {
    return secret.clone();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TokenSigningKey that && id.equals(that.id) && Arrays.equals(secret, that.secret);
  }

  @Override
  public int hashCode() {
    return 31 * id.hashCode() + Arrays.hashCode(secret);
  }

  @Override
  public String toString() {
    return "TokenSigningKey[id=" + id + "]"; // never the secret
  }
}
