package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Result;
import dev.boxd.raft.testing.MiniCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three voters and a listener in one JVM, over real Ratis and real sockets. */
@Timeout(180)
class ClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  @Test
  void everyReplicaAgreesWhicheverNodeProposes() throws Exception {
    try (MiniCluster cluster = new MiniCluster(dir, 3, 1)) {
      cluster.awaitLeader(WAIT);
      long last = 0;
      int n = 0;
      for (RaftNode node : cluster.nodes()) {
        for (int i = 0; i < 5; i++) {
          Result.Ok ok = node.propose(Users.create(node.id() + "-" + n++)).orThrow();
          assertThat(node.read().appliedIndex()).as("%s reads its own write", node.id()).isGreaterThanOrEqualTo(ok.index());
          last = Math.max(last, ok.index());
        }
      }

      ClusterState reference = cluster.node("n1").readAtLeast(last, WAIT);
      assertThat(reference.users()).hasSize(20);
      for (ClusterState state : cluster.statesAt(reference.appliedIndex(), WAIT)) {
        States.assertSameRecords(state, reference);
      }
      assertThat(cluster.node("l1").isLeader()).isFalse();
      assertThat(cluster.node("l1").leaderId()).isPresent();
    }
  }

  @Test
  void writesContinueWhenTheLeaderStopsAndItCatchesUpOnReturn() throws Exception {
    try (MiniCluster cluster = new MiniCluster(dir, 3, 1)) {
      RaftNode leader = cluster.awaitLeader(WAIT);
      cluster.node("l1").propose(Users.create("before")).orThrow();

      String stopped = leader.id();
      cluster.stop(stopped);
      RaftNode next = cluster.awaitLeader(WAIT);
      assertThat(next.id()).isNotEqualTo(stopped);
      long index = cluster.node("l1").propose(Users.create("after")).orThrow().index();

      RaftNode back = cluster.start(stopped);
      ClusterState caughtUp = back.readAtLeast(index, WAIT);
      assertThat(caughtUp.user("before")).isPresent();
      assertThat(caughtUp.user("after")).isPresent();
    }
  }

  @Test
  void aListenerThatFellBehindThePurgedLogInstallsTheLeadersSnapshot() throws Exception {
    try (MiniCluster cluster = new MiniCluster(dir, 3, 1, config -> config.withSnapshotThreshold(20), properties -> {
      // Tiny segments, so the log really is purged up to each snapshot.
      RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SizeInBytes.valueOf("16KB"));
      RaftServerConfigKeys.Log.setPreallocatedSize(properties, SizeInBytes.valueOf("16KB"));
      RaftServerConfigKeys.Log.setWriteBufferSize(properties, SizeInBytes.valueOf("16KB"));
      RaftServerConfigKeys.Log.Appender.setBufferByteLimit(properties, SizeInBytes.valueOf("8KB"));
      RaftServerConfigKeys.Log.setPurgeGap(properties, 20);
    })) {
      RaftNode leader = cluster.awaitLeader(WAIT);
      leader.propose(Users.create("early")).orThrow();
      long listenerWasAt = cluster.node("l1").readAtLeast(leader.read().appliedIndex(), WAIT).appliedIndex();
      cluster.stop("l1");

      long last = 0;
      for (int i = 0; i < 400; i++) {
        last = leader.propose(Users.create("u" + i)).orThrow().index();
      }
      assertThat(leader.logStartIndex()).as("the leader purged what the listener lacks").isGreaterThan(listenerWasAt + 1);

      RaftNode listener = cluster.start("l1");
      List<Applied> seen = new CopyOnWriteArrayList<>();
      listener.watch(seen::add);
      ClusterState caughtUp = listener.readAtLeast(last, WAIT);
      assertThat(caughtUp.users()).hasSize(401);
      States.assertSameRecords(leader.readAtLeast(caughtUp.appliedIndex(), WAIT), caughtUp);

      // Watchers run just after the state is published, so possibly after propose returns.
      Result.Ok later = listener.propose(Users.create("later")).orThrow();
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (seen.stream().noneMatch(applied -> applied.result().equals(later)) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(seen).as("the watcher follows the log after the install")
          .anySatisfy(applied -> assertThat(applied.result()).isEqualTo(later));
    }
  }
}
