package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * An SSH public key linked to an account. The fingerprint ({@code SHA256:...}) is the key of the
 * lookup the SSH front door does on every connection; {@code publicKey} is the OpenSSH line.
 */
public record SshKey(String fingerprint, String userId, String publicKey, Instant addedAt) {
  public SshKey {
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(addedAt, "addedAt");
  }
}
