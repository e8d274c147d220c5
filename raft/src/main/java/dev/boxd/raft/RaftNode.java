package dev.boxd.raft;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.codec.CommandCodec;
import dev.boxd.core.state.codec.CorruptDataException;
import dev.boxd.core.state.codec.ResultCodec;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.ExitUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member of the replicated log: a Ratis server holding this node's replica (voter or
 * listener), and a client that sends this node's proposals to whichever node leads. Start one per
 * process with {@link #start}; {@link #close} stops both. The data directory keeps the log and
 * snapshots, so starting again on the same directory resumes where the node stopped.
 */
public final class RaftNode implements StateStore {
  private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

  static {
    // Ratis is a library here, not the process: left alone it calls System.exit when its gRPC
    // server cannot bind, and installs a default handler that exits the JVM on any uncaught
    // exception in any thread. Make the first an exception we report and drop the second.
    ExitUtils.disableSystemExit();
    ExitUtils.setTerminateOnUncaughtException(false);
  }

  private final RaftConfig config;
  private final RaftServer server;
  private final RaftClient client;
  private final ReplicatedStateMachine stateMachine;
  /** The log index this replica must have applied before its state is current: see {@link #awaitCurrent}. */
  private final long indexAtStart;

  private RaftNode(RaftConfig config, RaftServer server, RaftClient client, ReplicatedStateMachine stateMachine, long indexAtStart) {
    this.config = config;
    this.server = server;
    this.client = client;
    this.stateMachine = stateMachine;
    this.indexAtStart = indexAtStart;
  }

  /**
   * Starts this node: loads the latest snapshot, replays the log after it, binds the address of
   * this node's peer entry and joins the group. Returns without waiting for a leader.
   */
  public static RaftNode start(RaftConfig config) {
    return start(config, properties -> {});
  }

  /**
   * As {@link #start(RaftConfig)}, with Ratis properties adjusted: for tests that need tiny log
   * segments (public for the mini cluster in this module's test jar).
   */
  public static RaftNode start(RaftConfig config, Consumer<RaftProperties> adjust) {
    ReplicatedStateMachine stateMachine = new ReplicatedStateMachine();
    RaftProperties properties = RatisSettings.properties(config);
    adjust.accept(properties);
    RaftServer server = null;
    try {
      Files.createDirectories(config.dataDir());
      server = RaftServer.newBuilder()
          .setServerId(RaftPeerId.valueOf(config.nodeId()))
          .setGroup(RatisSettings.group(config.peers()))
          .setProperties(properties)
          .setStateMachine(stateMachine)
          .setOption(RaftStorage.StartupOption.RECOVER)
          .build();
      server.start();
      RaftClient client = RaftClient.newBuilder()
          .setClientId(ClientId.randomId())
          .setRaftGroup(RatisSettings.group(config.voters()))
          .setProperties(properties)
          .setRetryPolicy(RatisSettings.retryPolicy(config))
          .build();
      long indexAtStart = indexToReplay(config, server);
      log.info("Raft node {} started on {} as {} (data in {}, state at index {}, log to index {})", config.nodeId(),
          config.self().address(), config.self().role(), config.dataDir(), stateMachine.state().appliedIndex(), indexAtStart);
      return new RaftNode(config, server, client, stateMachine, indexAtStart);
    } catch (IOException | RuntimeException e) {
      closeQuietly(server);
      throw new BoxdException(ErrorCode.UNAVAILABLE, "cannot start Raft node " + config.nodeId() + " on "
          + config.self().address() + " with data in " + config.dataDir() + ": " + e.getMessage(), e);
    }
  }

  /**
   * What this node's replica must reach before it is as current as when the node stopped. The
   * sole voter of a group commits everything in its log once it leads again, so that is its last
   * entry; any other node waits for the commit index it had recovered.
   */
  private static long indexToReplay(RaftConfig config, RaftServer server) throws IOException {
    RaftLog raftLog = server.getDivision(RatisSettings.GROUP_ID).getRaftLog();
    boolean soleVoter = config.voters().size() == 1 && config.self().isVoter();
    if (soleVoter) {
      TermIndex last = raftLog.getLastEntryTermIndex();
      return last == null ? 0 : last.getIndex();
    }
    return raftLog.getLastCommittedIndex();
  }

  /**
   * Waits until this replica has applied every entry the log held when the node started, and the
   * group has a leader, and returns that state. Until then {@link #read()} holds only the last
   * snapshot (the entries after it are applied again once a leader commits them, ~0.5 s after a
   * restart): nothing may act on it — a reconciler would see VMs made since as missing and VMs
   * destroyed since as wanted. Call once after {@link #start} before anything reads the state.
   */
  public ClusterState awaitCurrent(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        Optional<DivisionInfo> info = division();
        boolean led = info.map(i -> i.isLeader() ? i.isLeaderReady() : i.getLeaderId() != null).orElse(false);
        if (led) {
          long target = Math.max(indexAtStart, committedIndex());
          ClusterState state = stateMachine.awaitApplied(target, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
          if (state != null) {
            return state;
          }
        }
        if (System.nanoTime() >= deadline) {
          throw new BoxdException(ErrorCode.UNAVAILABLE, "Raft node " + config.nodeId() + " did not catch up within "
              + timeout.toSeconds() + " s: " + (led ? "applied up to " + stateMachine.state().appliedIndex() + " of " + indexAtStart
              : "no leader elected (are the other control nodes up?)"));
        }
        Thread.sleep(10); // Ratis offers no wait for leadership; this runs once per start
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted while Raft node " + config.nodeId() + " caught up", e);
    }
  }

  private long committedIndex() {
    try {
      return server.getDivision(RatisSettings.GROUP_ID).getRaftLog().getLastCommittedIndex();
    } catch (IOException e) {
      return indexAtStart;
    }
  }

  public String id() {
    return config.nodeId();
  }

  public RaftConfig config() {
    return config;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Also waits (within the propose timeout) until this node's own replica has applied the
   * entry, so a {@link #read()} right after a successful propose sees the write.
   */
  @Override
  public Result propose(Command command) {
    long started = System.nanoTime();
    Message message = Message.valueOf(UnsafeByteOperations.unsafeWrap(CommandCodec.encode(command)));
    RaftClientReply reply;
    try {
      reply = client.io().send(message);
    } catch (StateMachineException e) {
      throw BoxdException.internal("the leader refused " + command.getClass().getSimpleName() + ": " + rootMessage(e), e);
    } catch (InterruptedIOException e) {
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted while proposing " + command.getClass().getSimpleName(), e);
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "no Raft leader accepted " + command.getClass().getSimpleName()
          + " within " + config.proposeTimeout().toSeconds() + " s; it may still be applied later: " + rootMessage(e), e);
    }
    if (!reply.isSuccess()) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "proposing " + command.getClass().getSimpleName() + " failed: "
          + Optional.ofNullable(reply.getException()).map(Throwable::getMessage).orElse("no reason given"));
    }
    Result result;
    try {
      result = ResultCodec.decode(reply.getMessage().getContent().toByteArray());
    } catch (CorruptDataException e) {
      throw BoxdException.internal("the leader's reply does not decode: " + e.getMessage(), e);
    }
    if (result instanceof Result.Ok ok) {
      Duration left = config.proposeTimeout().minusNanos(System.nanoTime() - started);
      awaitQuietly(ok.index(), left.isNegative() ? Duration.ZERO : left);
    }
    return result;
  }

  @Override
  public ClusterState read() {
    return stateMachine.state();
  }

  @Override
  public ClusterState readAtLeast(long index, Duration timeout) {
    try {
      ClusterState state = stateMachine.awaitApplied(index, timeout);
      if (state == null) {
        throw new BoxdException(ErrorCode.DEADLINE_EXCEEDED, "Raft node " + config.nodeId() + " had applied the log up to "
            + stateMachine.state().appliedIndex() + ", not " + index + ", after " + timeout.toMillis() + " ms");
      }
      return state;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted while waiting for log index " + index, e);
    }
  }

  @Override
  public void watch(Consumer<Applied> watcher) {
    stateMachine.watch(watcher);
  }

  /** Whether this node currently leads the group (and so serves writes itself). */
  public boolean isLeader() {
    return division().map(DivisionInfo::isLeader).orElse(false);
  }

  /** The node this one believes leads, if it knows of one. */
  public Optional<String> leaderId() {
    return division().map(DivisionInfo::getLeaderId).map(RaftPeerId::toString);
  }

  /** First index still in this node's log: entries before it were purged after a snapshot. */
  long logStartIndex() throws IOException {
    return server.getDivision(RatisSettings.GROUP_ID).getRaftLog().getStartIndex();
  }

  private Optional<DivisionInfo> division() {
    try {
      return Optional.of(server.getDivision(RatisSettings.GROUP_ID).getInfo());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private void awaitQuietly(long index, Duration timeout) {
    try {
      stateMachine.awaitApplied(index, timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the client and the server; a clean stop writes a snapshot, so the next start is quick. */
  @Override
  public void close() {
    try {
      client.close();
    } catch (IOException e) {
      log.warn("closing the Raft client of {}: {}", config.nodeId(), e.toString());
    }
    closeQuietly(server);
    log.info("Raft node {} stopped at index {}", config.nodeId(), stateMachine.state().appliedIndex());
  }

  private static void closeQuietly(RaftServer server) {
    if (server == null) {
      return;
    }
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing Raft server: {}", e.toString());
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + root + ")";
  }
}
