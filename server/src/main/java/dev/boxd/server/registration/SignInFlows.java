package dev.boxd.server.registration;

import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.Nonce;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Sign-ins begun and not yet come back, by their {@code state}: the registration code each is
 * for, its PKCE verifier and nonce. They stay in this server's memory and never reach the
 * browser, which holds only the random {@code state} (in the URL and in a cookie): a restart
 * forgets them, and the user opens the registration link again. A {@code state} is taken once.
 */
final class SignInFlows {
  /** How long a sign-in may take at the issuer. */
  static final Duration LIFETIME = Duration.ofMinutes(10);
  /** Sign-ins in progress at most; each needs a pending registration code to begin. */
  static final int MAX_IN_PROGRESS = 1000;

  record Flow(String registrationCode, CodeVerifier verifier, Nonce nonce, Instant expiresAt) {}

  record Begun(State state, Flow flow) {}

  private final Map<String, Flow> byState = new LinkedHashMap<>();

  /** A new sign-in for {@code registrationCode}; empty when {@link #MAX_IN_PROGRESS} are in progress. */
  synchronized Optional<Begun> begin(String registrationCode, Instant now) {
    dropExpired(now);
    if (byState.size() >= MAX_IN_PROGRESS) {
      return Optional.empty();
    }
    State state = new State(32);
    Flow flow = new Flow(registrationCode, new CodeVerifier(), new Nonce(32), now.plus(LIFETIME));
    byState.put(state.getValue(), flow);
    return Optional.of(new Begun(state, flow));
  }

  /** The sign-in of {@code state}, removed: a state comes back once. Empty when unknown or expired. */
  synchronized Optional<Flow> take(String state, Instant now) {
    Flow flow = byState.remove(state);
    return flow == null || !now.isBefore(flow.expiresAt()) ? Optional.empty() : Optional.of(flow);
  }

  private void dropExpired(Instant now) {
    // In insertion order, which is expiry order: stop at the first that still runs.
    for (Iterator<Flow> flows = byState.values().iterator(); flows.hasNext(); ) {
      if (now.isBefore(flows.next().expiresAt())) {
        return;
      }
      flows.remove();
    }
  }
}
