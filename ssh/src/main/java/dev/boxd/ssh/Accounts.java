package dev.boxd.ssh;

import dev.boxd.verbs.Operations;
import java.util.Optional;

/**
 * Who an SSH key belongs to, as the front door asks it; implemented by the control plane. Keys are
 * named by their fingerprint as {@code ssh-keygen -l} prints it ({@code SHA256:} and unpadded
 * base64). Failures are {@link dev.boxd.core.BoxdException}s (UNAVAILABLE when the cluster cannot
 * answer); the front door reports them to the user and runs nothing.
 */
public interface Accounts {

  /** The id of the account the key is linked to; empty for a key no account has. */
  Optional<String> accountOf(String fingerprint);

  /**
   * Opens a pending registration for a key no account has, or returns the one already open for
   * that key, and returns its code: the user takes it to {@code /register?code=CODE} or to the
   * operator ({@code boxd admin approve CODE}). The user proved they hold the private key of
   * {@code publicKey} (authorized_keys form, {@code ssh-ed25519 AAAA...}) and connected from the
   * IP address {@code source}. Throws RESOURCE_EXHAUSTED when too many registrations are pending
   * (in all, or from {@code source}).
   */
  String openRegistration(String fingerprint, String publicKey, String source);

  /** What the account may do, bound to it. */
  Operations operations(String accountId);
}
