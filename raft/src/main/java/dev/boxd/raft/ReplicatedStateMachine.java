package dev.boxd.raft;

import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Fsm;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.codec.CommandCodec;
import dev.boxd.core.state.codec.CorruptDataException;
import dev.boxd.core.state.codec.ResultCodec;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Core's {@link Fsm} behind Ratis's state machine interface. Ratis calls it on one thread, in log
 * order, for every committed entry: commands go through {@link Fsm#apply}; entries that are not
 * commands (a new leader's first entry, membership changes) only move the applied index, so the
 * state's index always equals the log's. A command that fails to decode or apply throws, which
 * makes Ratis stop this replica rather than let it diverge.
 */
final class ReplicatedStateMachine extends BaseStateMachine {
  private static final Logger log = LoggerFactory.getLogger(ReplicatedStateMachine.class);

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final List<Consumer<Applied>> watchers = new CopyOnWriteArrayList<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition advanced = lock.newCondition();
  private volatile ClusterState state = ClusterState.empty();

  ClusterState state() {
    return state;
  }

  void watch(Consumer<Applied> watcher) {
    watchers.add(watcher);
  }

  /** Waits until this replica has applied {@code index}; returns the state, or null on timeout. */
  ClusterState awaitApplied(long index, Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (state.appliedIndex() < index) {
        if (left <= 0) {
          return null;
        }
        left = advanced.awaitNanos(left);
      }
      return state;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    getLifeCycle().startAndTransition(() -> load(storage.getLatestSnapshot()));
  }

  /** Ratis pauses the machine before it replaces the snapshot files with the leader's. */
  @Override
  public void pause() {
    getLifeCycle().transition(LifeCycle.State.PAUSING);
    getLifeCycle().transition(LifeCycle.State.PAUSED);
  }

  /** Called, paused, after this replica installed a snapshot sent by the leader (it had fallen behind). */
  @Override
  public void reinitialize() throws IOException {
    getLifeCycle().startAndTransition(() -> {
      if (load(storage.loadLatestSnapshot())) {
        notifyWatchers(new Applied(state, new Result.Ok(state.appliedIndex())));
      }
    });
  }

  private boolean load(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null) {
      return false;
    }
    ClusterState loaded = SnapshotFiles.read(snapshot);
    setLastAppliedTermIndex(snapshot.getTermIndex());
    publish(loaded);
    log.info("loaded snapshot at index {} ({})", snapshot.getIndex(), loaded);
    return true;
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return storage;
  }

  /** On the leader, before the entry is appended: refuse bytes that are not a command at all. */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext context = super.startTransaction(request);
    try {
      CommandCodec.decode(request.getMessage().getContent().toByteArray());
    } catch (CorruptDataException e) {
      context.setException(e);
    }
    return context;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext transaction) {
    LogEntryProto entry = transaction.getLogEntry();
    Command command = CommandCodec.decode(entry.getStateMachineLogEntry().getLogData().toByteArray());
    Applied applied = Fsm.apply(state, entry.getIndex(), command);
    updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    publish(applied.state());
    notifyWatchers(applied);
    return CompletableFuture.completedFuture(
        Message.valueOf(UnsafeByteOperations.unsafeWrap(ResultCodec.encode(applied.result()))));
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    if (index > state.appliedIndex()) {
      publish(Fsm.skip(state, index));
    }
    super.notifyTermIndexUpdated(term, index);
  }

  @Override
  public long takeSnapshot() throws IOException {
    ClusterState snapshot = state;
    TermIndex at = getLastAppliedTermIndex();
    if (at.getIndex() <= 0) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    // Ratis calls this on the thread that applies the log, so the two cannot disagree.
    if (at.getIndex() != snapshot.appliedIndex()) {
      throw new IllegalStateException("applied index " + at.getIndex() + " but state at " + snapshot.appliedIndex());
    }
    storage.updateLatestSnapshot(SnapshotFiles.write(storage, at, snapshot));
    log.info("wrote snapshot at index {} ({})", at.getIndex(), snapshot);
    return at.getIndex();
  }

  private void publish(ClusterState next) {
    lock.lock();
    try {
      state = next;
      advanced.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // Watchers belong to other parts of boxd: their failure must not stop the log.
  private void notifyWatchers(Applied applied) {
    for (Consumer<Applied> watcher : watchers) {
      try {
        watcher.accept(applied);
      } catch (RuntimeException e) {
        log.error("state watcher {} failed at index {}", watcher, applied.state().appliedIndex(), e);
      }
    }
  }
}
