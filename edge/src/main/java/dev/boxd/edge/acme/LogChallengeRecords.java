package dev.boxd.edge.acme;

import dev.boxd.core.state.Command;
import dev.boxd.core.state.StateStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Challenge answers written to the log, from where the dns role of every node serves them as soon
 * as its replica has applied them. A challenge left behind by a crash expires by itself.
 */
public final class LogChallengeRecords implements ChallengeRecords {
  /** Longer than any order takes; after it the log drops a challenge nobody cleared. */
  static final Duration LIFETIME = Duration.ofMinutes(30);

  private final StateStore store;
  private final Clock clock;

  public LogChallengeRecords(StateStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  @Override
  public void publish(String name, List<String> values) {
    var now = clock.instant();
    store.propose(new Command.SetAcmeChallenge(name, values, now, now.plus(LIFETIME))).orThrow();
  }

  @Override
  public void withdraw(String name) {
    store.propose(new Command.ClearAcmeChallenge(name)).orThrow();
  }
}
