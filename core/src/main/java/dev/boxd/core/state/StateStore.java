package dev.boxd.core.state;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * The replicated state as the rest of boxd sees it: writes go through the log, reads are local.
 * Implemented over Raft in the {@code raft} module; every node (voter or listener) has one.
 *
 * <p>Failures of the log itself (no leader within the timeout, the node closed) are thrown as
 * {@link dev.boxd.core.BoxdException} with code {@code UNAVAILABLE} or {@code DEADLINE_EXCEEDED};
 * a command the state refuses is not a failure but a {@link Result.Rejected}.
 */
public interface StateStore extends AutoCloseable {

  /**
   * Appends a command to the log and waits until it is applied: linearizable, forwarded to the
   * leader, retried across leader changes without being applied twice. Returns its result as the
   * leader applied it; {@link Result.Ok#index()} is the entry's index, for {@link #readAtLeast}
   * on another replica.
   */
  Result propose(Command command);

  /** This replica's current state: may lag the leader, never goes backwards. */
  ClusterState read();

  /**
   * This replica's state once it has applied the log up to {@code index}: read-your-writes after
   * a {@link #propose} made elsewhere. Throws {@code DEADLINE_EXCEEDED} if it takes longer than
   * {@code timeout}.
   */
  ClusterState readAtLeast(long index, Duration timeout);

  /**
   * Calls {@code watcher} after every command this replica applies, in log order, on the thread
   * that applies the log: hand real work to a queue of your own, since the log waits for the
   * watcher. A replica that falls so far behind that it installs the leader's snapshot instead of
   * replaying entries calls the watcher once with that state and an {@code Ok} at its index.
   * Watchers added late see only later entries; read the current state first. The state is
   * published before watchers run, so {@link #read()} inside a watcher sees at least its entry,
   * and a {@link #propose} or {@link #readAtLeast} may return before the watchers of that entry
   * have run.
   */
  void watch(Consumer<Applied> watcher);

  @Override
  void close();
}
