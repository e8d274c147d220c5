package dev.boxd.api.auth;

import java.time.Instant;
import java.util.Optional;

/**
 * Registrations of SSH keys, as a device login needs them; the server implements it over the
 * replica, as its SSH front door does for an unknown key (the api module knows neither).
 */
public interface KeyRegistrations {

  /**
   * A pending registration of a key: its code, the key's fingerprint, the page where it is linked
   * ({@code https://<zone>[:PORT]/register?code=CODE}; empty where the server has no such page and
   * only the operator links keys) and when it expires.
   */
  record Opened(String code, String fingerprint, String url, Instant expiresAt) {}

  /**
   * Opens a registration for {@code publicKey} (authorized_keys form), made from the address
   * {@code source}, or returns the one already open for it. INVALID_ARGUMENT naming what is wrong
   * with the key text, ALREADY_EXISTS for a key some account has, RESOURCE_EXHAUSTED when too
   * many registrations are pending (in all, or from {@code source}).
   */
  Opened open(String publicKey, String source);

  /** The user the key of {@code fingerprint} is linked to in the local replica; empty while none. */
  Optional<String> userOf(String fingerprint);
}
