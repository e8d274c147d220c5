package dev.boxd.testkit.state;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Fsm;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A single-replica {@link StateStore} in memory, for unit tests of what sits on top of the log
 * (control operations, the reconciler, idle watch) without starting Raft.
 *
 * <p>It keeps the contract that matters to callers: each {@link #propose} applies the command with
 * the same deterministic {@link Fsm#apply} the Raft state machine uses, at the next log index, and
 * returns its {@link Result}; a rejection changes nothing but the applied index, as on a real
 * replica. The new state is published before watchers run, watchers are called in log order on
 * the proposing thread, and one proposal is applied at a time. What it does not model: leaders,
 * lag between replicas, snapshots installed instead of replayed entries.
 *
 * <p>Tests may also {@link #commands() inspect} every command proposed, in order, and {@link
 * #close()} makes later calls fail with {@code UNAVAILABLE}, like a closed node.
 */
public final class InMemoryStateStore implements StateStore {
  private final Object applyLock = new Object();
  private final List<Consumer<Applied>> watchers = new CopyOnWriteArrayList<>();
  private final List<Command> commands = new ArrayList<>();
  private volatile ClusterState state;
  private volatile boolean closed;

  /** A store that starts from the empty state at index 0. */
  public InMemoryStateStore() {
    this(ClusterState.empty());
  }

  /** A store that starts from {@code initial} (for instance a state built by earlier commands). */
  public InMemoryStateStore(ClusterState initial) {
    this.state = Objects.requireNonNull(initial, "initial");
  }

  @Override
  public Result propose(Command command) {
    Objects.requireNonNull(command, "command");
    Applied applied;
    // Applying and notifying under one lock keeps watchers in log order, as the Raft apply thread does.
    synchronized (applyLock) {
      requireOpen();
      applied = Fsm.apply(state, state.appliedIndex() + 1, command);
      commands.add(command);
      state = applied.state();
      applyLock.notifyAll();
      for (Consumer<Applied> watcher : watchers) {
        watcher.accept(applied);
      }
    }
    return applied.result();
  }

  /** Proposes {@code command} and throws its rejection, for setting up a test's starting state. */
  public Result.Ok apply(Command command) {
    return propose(command).orThrow();
  }

  @Override
  public ClusterState read() {
    requireOpen();
    return state;
  }

  @Override
  public ClusterState readAtLeast(long index, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (applyLock) {
      while (state.appliedIndex() < index) {
        requireOpen();
        long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
        if (leftMillis <= 0) {
          throw new BoxdException(ErrorCode.DEADLINE_EXCEEDED,
              "log index " + index + " not applied within " + timeout + " (applied: " + state.appliedIndex() + ")");
        }
        try {
          applyLock.wait(leftMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted waiting for log index " + index);
        }
      }
      return state;
    }
  }

  @Override
  public void watch(Consumer<Applied> watcher) {
    watchers.add(Objects.requireNonNull(watcher, "watcher"));
  }

  /** Every command proposed so far, accepted or rejected, in log order. */
  public List<Command> commands() {
    synchronized (applyLock) {
      return List.copyOf(commands);
    }
  }

  /** The proposed commands of one type, in log order. */
  public <C extends Command> List<C> commands(Class<C> type) {
    return commands().stream().filter(type::isInstance).map(type::cast).toList();
  }

  @Override
  public void close() {
    synchronized (applyLock) {
      closed = true;
      applyLock.notifyAll();
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "the state store is closed");
    }
  }
}
