package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.User;
import dev.boxd.raft.testing.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single node SIGKILLed after writing past its last snapshot: started again, its state first
 * holds only that snapshot, and {@link RaftNode#awaitCurrent} returns only once every write
 * acknowledged before the kill is applied again. This is what the worker waits for before it
 * reconciles: acting on the snapshot alone destroyed VMs made after it.
 */
@Timeout(120)
class UncleanRestartTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;

  @Test
  void awaitCurrentReplaysEveryAcknowledgedWriteAfterAKill() throws Exception {
    String address = Ports.freeAddress();
    List<Peer> peers = List.of(Peer.voter("n1", address));
    List<String> acked = new ArrayList<>();
    try (NodeProcess node = NodeProcess.launch("n1", dir.resolve("n1"), dir.resolve("logs"), 16, peers)) {
      node.send("write u 1000000");
      while (acked.size() < 120) {
        String line = node.await(l -> l.startsWith("ack ") || l.startsWith("error "), WAIT);
        assertThat(line).startsWith("ack ");
        acked.add(line.split(" ")[1]);
      }
      node.kill();
    }

    try (RaftNode node = RaftNode.start(RaftConfig.of("n1", dir.resolve("n1"), peers).withSnapshotThreshold(16))) {
      long atStart = node.read().appliedIndex();
      ClusterState current = node.awaitCurrent(WAIT);
      List<String> users = current.users().stream().map(User::id).toList();
      System.out.printf("restarted at index %d (snapshot), current at %d; %d writes acknowledged%n",
          atStart, current.appliedIndex(), acked.size());
      assertThat(users).containsAll(acked);
      assertThat(current.appliedIndex()).isGreaterThan(atStart);
    }
  }
}
