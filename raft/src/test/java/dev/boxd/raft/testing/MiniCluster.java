package dev.boxd.raft.testing;

import dev.boxd.core.state.ClusterState;
import dev.boxd.raft.Peer;
import dev.boxd.raft.RaftConfig;
import dev.boxd.raft.RaftNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.ratis.conf.RaftProperties;

/**
 * A real Raft group in this JVM: voters {@code n1..nN} and listeners {@code l1..lM} on free
 * loopback ports, each with its own data directory under {@code root}. Nodes can be stopped and
 * started again on their directories. Close it to stop them all.
 *
 * <p>It lives in the raft module's test jar, not in testkit: it needs {@link RaftNode}, and the
 * raft module's own tests use it, so testkit depending on raft would make a build cycle.
 */
public final class MiniCluster implements AutoCloseable {
  private final Path root;
  private final List<Peer> peers = new ArrayList<>();
  private final Map<String, RaftNode> running = new LinkedHashMap<>();
  private final UnaryOperator<RaftConfig> tune;
  private final Consumer<RaftProperties> adjust;

  /**
   * @param tune changes each node's {@link RaftConfig} (snapshot threshold, timeouts)
   * @param adjust changes each node's Ratis properties (e.g. tiny log segments)
   */
  public MiniCluster(Path root, int voters, int listeners, UnaryOperator<RaftConfig> tune, Consumer<RaftProperties> adjust) {
    this.root = root;
    this.tune = tune;
    this.adjust = adjust;
    for (int i = 1; i <= voters; i++) {
      peers.add(Peer.voter("n" + i, Ports.freeAddress()));
    }
    for (int i = 1; i <= listeners; i++) {
      peers.add(Peer.listener("l" + i, Ports.freeAddress()));
    }
    try {
      peers.forEach(peer -> start(peer.id()));
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public MiniCluster(Path root, int voters, int listeners) {
    this(root, voters, listeners, config -> config, properties -> {});
  }

  /** Starts node {@code id} (again) on its data directory. */
  public RaftNode start(String id) {
    RaftNode node = RaftNode.start(tune.apply(RaftConfig.of(id, root.resolve(id), peers)), adjust);
    running.put(id, node);
    return node;
  }

  public void stop(String id) {
    running.remove(id).close();
  }

  public RaftNode node(String id) {
    RaftNode node = running.get(id);
    if (node == null) {
      throw new IllegalArgumentException("node " + id + " is not running");
    }
    return node;
  }

  public List<RaftNode> nodes() {
    return List.copyOf(running.values());
  }

  /** The running node that leads, once one does (and all running nodes agree on it). */
  public RaftNode awaitLeader(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (RaftNode node : running.values()) {
        if (node.isLeader()) {
          return node;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no leader among " + running.keySet() + " after " + timeout);
  }

  /** Every running replica's state once all have applied {@code index}. */
  public List<ClusterState> statesAt(long index, Duration timeout) {
    return running.values().stream().map(node -> node.readAtLeast(index, timeout)).toList();
  }

  @Override
  public void close() {
    new ArrayList<>(running.keySet()).forEach(this::stop);
  }
}
