package dev.boxd.server;

import dev.boxd.api.auth.KeyRegistrations;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.User;
import dev.boxd.server.registration.RegistrationSite;
import java.time.Clock;
import java.util.Optional;

/**
 * A device login's key registered as the SSH front door registers an unknown key (the same
 * {@link StateAccounts#openRegistration}: the same command, caps and code), with the page the
 * front door names for it; without an edge there is no page and only the operator links it.
 */
final class DeviceRegistrations implements KeyRegistrations {
  private final StateStore store;
  private final StateAccounts accounts;
  private final Optional<RegistrationSite> site;
  private final Clock clock;

  DeviceRegistrations(StateStore store, StateAccounts accounts, Optional<RegistrationSite> site, Clock clock) {
    this.store = store;
    this.accounts = accounts;
    this.site = site;
    this.clock = clock;
  }

  @Override
  public Opened open(String publicKey, String source) {
    if (publicKey.isBlank()) {
      throw BoxdException.invalid("public_key is required: the device's SSH public key in authorized_keys form (ssh-ed25519 AAAA...)");
    }
    String key = KeyFingerprint.canonical(publicKey);
    String fingerprint = KeyFingerprint.of(key);
    if (store.read().key(fingerprint).isPresent()) {
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "key " + fingerprint + " is already linked to an account: a device login"
          + " needs a new key of its own (boxd auth login makes one); generate a new key and start again");
    }
    String code = accounts.openRegistration(fingerprint, key, source);
    var expiresAt = store.read().registration(code).map(Registration::expiresAt)
        .orElseGet(() -> clock.instant().plus(StateAccounts.REGISTRATION_LIFETIME));
    return new Opened(code, fingerprint, site.map(s -> s.registerUrl(code)).orElse(""), expiresAt);
  }

  @Override
  public Optional<String> userOf(String fingerprint) {
    return store.read().userByKey(fingerprint).map(User::id);
  }
}
