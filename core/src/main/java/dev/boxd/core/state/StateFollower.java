package dev.boxd.core.state;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Runs an action with the replica's state whenever the log applied entries, on a thread of its
 * own: the log waits for its watchers, so they only hand the work over. Coalesced: any number of
 * entries applied while the action runs lead to one more run, with the newest state. The front
 * doors use it to keep listening on what the log names (addresses, ports, forwards).
 */
public final class StateFollower implements AutoCloseable {
  private final StateStore store;
  private final Consumer<ClusterState> action;
  private final ExecutorService thread;
  private final AtomicBoolean pending = new AtomicBoolean();
  private volatile boolean closed;

  private StateFollower(String name, StateStore store, Consumer<ClusterState> action) {
    this.store = store;
    this.action = action;
    this.thread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name(name).daemon().unstarted(r));
  }

  /**
   * Runs {@code action} with the current state now (on its thread) and after every change from
   * now on. An exception from the action goes to {@code failed}; the next change runs it again.
   */
  public static StateFollower start(String threadName, StateStore store, Consumer<ClusterState> action, Consumer<RuntimeException> failed) {
    var follower = new StateFollower(threadName, store, state -> {
      try {
        action.accept(state);
      } catch (RuntimeException e) {
        failed.accept(e);
      }
    });
    store.watch(applied -> follower.schedule());
    follower.schedule();
    return follower;
  }

  private void schedule() {
    if (!closed && pending.compareAndSet(false, true)) {
      try {
        thread.execute(this::run);
      } catch (RejectedExecutionException closedMeanwhile) {
        // nothing left to follow, and the log's thread must not see an exception
      }
    }
  }

  private void run() {
    pending.set(false);
    if (!closed) {
      action.accept(store.read());
    }
  }

  /** Stops following; a run under way is interrupted. */
  @Override
  public void close() {
    closed = true;
    thread.shutdownNow();
  }
}
