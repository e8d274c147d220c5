package dev.boxd.server;

import dev.boxd.control.ControlConfig;
import dev.boxd.control.ControlOperations;
import dev.boxd.workerport.Workers;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.PendingRegistrations;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import dev.boxd.ssh.Accounts;
import dev.boxd.verbs.Operations;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** Accounts as the replicated state holds them: keys link to users; unknown keys get a registration. */
final class StateAccounts implements Accounts {
  static final Duration REGISTRATION_LIFETIME = Duration.ofHours(1);
  private static final char[] CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final StateStore store;
  private final Workers workers;
  private final ControlConfig config;
  private final Clock clock;

  StateAccounts(StateStore store, Workers workers, ControlConfig config, Clock clock) {
    this.store = store;
    this.workers = workers;
    this.config = config;
    this.clock = clock;
  }

  @Override
  public Optional<String> accountOf(String fingerprint) {
    return store.read().userByKey(fingerprint).map(dev.boxd.core.state.User::id);
  }

  /**
   * A key that reconnects while its registration is pending gets the same code and writes
   * nothing; one refused by the caps ({@link Registration#MAX_PENDING}) writes nothing either.
   * One registration is written at a time: unauthenticated clients cannot make the log
   * grow faster than one entry per commit, and two connections of one key cannot both write.
   */
  @Override
  public synchronized String openRegistration(String fingerprint, String publicKey, String source) {
    Instant now = clock.instant();
    ClusterState state = store.read();
    Optional<Registration> open = state.registrationOfKey(fingerprint).filter(r -> !r.expiredAt(now));
    if (open.isPresent()) {
      return open.get().code();
    }
    // Refused here already, a stranger over the caps adds nothing to the log.
    PendingRegistrations.of(state, fingerprint, source, now).refusal(source).ifPresent(Result::orThrow);
    String code = newCode();
    store.propose(new Command.OpenRegistrationFrom(code, fingerprint, publicKey, source, now, now.plus(REGISTRATION_LIFETIME))).orThrow();
    return code;
  }

  static String newCode() {
    StringBuilder code = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      code.append(CODE_ALPHABET[RANDOM.nextInt(CODE_ALPHABET.length)]);
    }
    return code.toString();
  }

  @Override
  public Operations operations(String accountId) {
    return new ControlOperations(accountId, store, workers, config, clock);
  }
}
