package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.raft.testing.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bytes that are not a command never enter the log; a damaged snapshot stops the node, loudly. */
@Timeout(120)
class MalformedInputTest {
  @TempDir Path dir;

  @Test
  void theLeaderRefusesBytesThatAreNotACommand() throws Exception {
    RaftConfig config = RaftConfig.singleNode(dir, Ports.freeAddress());
    try (RaftNode node = RaftNode.start(config);
        RaftClient foreign = RaftClient.newBuilder()
            .setRaftGroup(RatisSettings.group(config.peers()))
            .setProperties(new RaftProperties())
            .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(50, TimeDuration.ONE_SECOND))
            .build()) {
      long before = node.propose(Users.create("u1")).orThrow().index();

      assertThatThrownBy(() -> foreign.io().send(Message.valueOf("not a command")))
          .isInstanceOf(StateMachineException.class)
          .hasMessageContaining("command format version 110 is not known");

      long after = node.propose(Users.create("u2")).orThrow().index();
      assertThat(node.read().users()).hasSize(2);
      assertThat(after - before).as("nothing was appended between the two commands but Ratis's own entries").isLessThanOrEqualTo(2);
    }
  }

  @Test
  void aDamagedSnapshotStopsTheStartWithTheReason() throws IOException {
    RaftConfig config = RaftConfig.singleNode(dir, Ports.freeAddress());
    try (RaftNode node = RaftNode.start(config)) {
      node.propose(Users.create("u1")).orThrow();
    }
    Path snapshot = snapshotFiles().getLast(); // the latest, which a start loads
    byte[] bytes = Files.readAllBytes(snapshot);
    bytes[bytes.length - 1] ^= 0x55;
    Files.write(snapshot, bytes);

    assertThatThrownBy(() -> RaftNode.start(config))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
        .hasMessageContaining("cannot start Raft node n1")
        .hasMessageContaining("snapshot " + snapshot + " is damaged");
  }

  private List<Path> snapshotFiles() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .sorted(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().replaceAll(".*_", ""))))
          .toList();
    }
  }
}
