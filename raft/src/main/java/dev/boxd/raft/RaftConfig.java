package dev.boxd.raft;

import dev.boxd.core.BoxdException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How one node joins the log: its id, where it keeps the log and snapshots, and the whole group
 * (this node included; every node is given the same list). Single-node mode is a group of one
 * voter. The tuning knobs have defaults that suit a small cluster on ordinary disks.
 *
 * @param snapshotThreshold log entries applied since the last snapshot that trigger the next;
 *     restart replays at most about this many entries after loading the snapshot
 * @param proposeTimeout how long {@code propose} retries across leader changes before it gives up
 * @param electionTimeout minimum time without a leader before a follower stands for election
 *     (the maximum is twice this); longer rides out GC pauses, shorter fails over faster
 */
public record RaftConfig(
    String nodeId,
    Path dataDir,
    List<Peer> peers,
    long snapshotThreshold,
    Duration proposeTimeout,
    Duration electionTimeout) {

  public static final long DEFAULT_SNAPSHOT_THRESHOLD = 10_000;
  public static final Duration DEFAULT_PROPOSE_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(300);

  public RaftConfig {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(dataDir, "dataDir");
    peers = List.copyOf(peers);
    Objects.requireNonNull(proposeTimeout, "proposeTimeout");
    Objects.requireNonNull(electionTimeout, "electionTimeout");
    Set<String> ids = new HashSet<>();
    for (Peer peer : peers) {
      if (!ids.add(peer.id())) {
        throw BoxdException.invalid("Raft node id \"" + peer.id() + "\" appears twice in the peer list");
      }
    }
    if (!ids.contains(nodeId)) {
      throw BoxdException.invalid("this node \"" + nodeId + "\" is not in the peer list " + ids);
    }
    if (peers.stream().noneMatch(Peer::isVoter)) {
      throw BoxdException.invalid("the peer list " + ids + " has no voter: a Raft group needs at least one");
    }
    if (snapshotThreshold < 1) {
      throw BoxdException.invalid("invalid snapshot threshold " + snapshotThreshold + ": expected at least 1 entry");
    }
    if (proposeTimeout.isNegative() || proposeTimeout.isZero() || electionTimeout.isNegative() || electionTimeout.isZero()) {
      throw BoxdException.invalid("Raft timeouts must be positive: propose " + proposeTimeout + ", election " + electionTimeout);
    }
  }

  /** A node in a group, with default tuning. */
  public static RaftConfig of(String nodeId, Path dataDir, List<Peer> peers) {
    return new RaftConfig(nodeId, dataDir, peers, DEFAULT_SNAPSHOT_THRESHOLD, DEFAULT_PROPOSE_TIMEOUT, DEFAULT_ELECTION_TIMEOUT);
  }

  /** The embedded default: one voter, listening on {@code address} (HOST:PORT). */
  public static RaftConfig singleNode(Path dataDir, String address) {
    return of("n1", dataDir, List.of(Peer.voter("n1", address)));
  }

  public RaftConfig withSnapshotThreshold(long entries) {
    return new RaftConfig(nodeId, dataDir, peers, entries, proposeTimeout, electionTimeout);
  }

  public RaftConfig withProposeTimeout(Duration timeout) {
    return new RaftConfig(nodeId, dataDir, peers, snapshotThreshold, timeout, electionTimeout);
  }

  public RaftConfig withElectionTimeout(Duration timeout) {
    return new RaftConfig(nodeId, dataDir, peers, snapshotThreshold, proposeTimeout, timeout);
  }

  /** This node's entry in the peer list. */
  public Peer self() {
    return peers.stream().filter(peer -> peer.id().equals(nodeId)).findFirst().orElseThrow();
  }

  public List<Peer> voters() {
    return peers.stream().filter(Peer::isVoter).toList();
  }
}
