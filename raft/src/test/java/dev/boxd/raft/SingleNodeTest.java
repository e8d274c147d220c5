package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Result;
import dev.boxd.raft.testing.Ports;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class SingleNodeTest {
  @TempDir Path dir;

  @Test
  void aWriteIsAppliedAndReadableAtOnce() {
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, Ports.freeAddress()))) {
      Result result = node.propose(Users.create("u1"));

      long index = result.orThrow().index();
      assertThat(node.read().user("u1")).isPresent();
      assertThat(node.read().appliedIndex()).isGreaterThanOrEqualTo(index);
      assertThat(node.readAtLeast(index, Duration.ofSeconds(1)).user("u1")).isPresent();
      assertThat(node.isLeader()).isTrue();
      assertThat(node.leaderId()).contains("n1");
    }
  }

  @Test
  void aRejectionComesBackAsAValue() {
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, Ports.freeAddress()))) {
      node.propose(Users.create("u1")).orThrow();

      Result again = node.propose(Users.create("u1"));

      assertThat(again).isEqualTo(new Result.Rejected(ErrorCode.ALREADY_EXISTS, "a user with id \"u1\" already exists"));
    }
  }

  @Test
  void watchersSeeEveryCommandInLogOrder() {
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, Ports.freeAddress()))) {
      List<Applied> seen = new CopyOnWriteArrayList<>();
      node.watch(seen::add);
      for (int i = 0; i < 20; i++) {
        node.propose(Users.create("u" + i)).orThrow();
      }
      node.propose(Users.create("u0"));

      assertThat(seen).hasSize(21);
      for (int i = 1; i < seen.size(); i++) {
        assertThat(seen.get(i).state().appliedIndex()).isGreaterThan(seen.get(i - 1).state().appliedIndex());
      }
      assertThat(seen.getLast().result()).isInstanceOf(Result.Rejected.class);
      States.assertSameRecords(node.read(), seen.getLast().state());
    }
  }

  @Test
  void readAtLeastGivesUpAfterItsTimeout() {
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, Ports.freeAddress()))) {
      long far = node.propose(Users.create("u1")).orThrow().index() + 1000;

      assertThatThrownBy(() -> node.readAtLeast(far, Duration.ofMillis(100)))
          .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED))
          .hasMessageContaining("not " + far + ", after 100 ms");
    }
  }

  @Test
  void restartOnTheSameDirectoryKeepsTheState() {
    String address = Ports.freeAddress();
    ClusterState before;
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, address))) {
      for (int i = 0; i < 25; i++) {
        node.propose(Users.create("u" + i)).orThrow();
      }
      before = node.read();
    }

    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(dir, address))) {
      States.assertSameRecords(node.read(), before);
      node.propose(Users.create("after")).orThrow();
      assertThat(node.read().users()).hasSize(26);
    }
  }

  @Test
  void restartLoadsTheSnapshotAndReplaysTheLogAfterIt() throws IOException {
    String address = Ports.freeAddress();
    RaftConfig config = RaftConfig.singleNode(dir, address).withSnapshotThreshold(10);
    ClusterState before;
    try (RaftNode node = RaftNode.start(config)) {
      for (int i = 0; i < 55; i++) {
        node.propose(Users.create("u" + i)).orThrow();
      }
      before = node.read();
      assertThat(snapshots()).as("snapshots taken every 10 entries").isNotEmpty();
    }
    assertThat(snapshots()).as("old snapshots are deleted").hasSizeLessThanOrEqualTo(2);

    try (RaftNode node = RaftNode.start(config)) {
      States.assertSameRecords(node.read(), before);
      assertThat(node.read().user("u54")).isPresent();
    }
  }

  @Test
  void aBusyAddressIsReportedWithTheAddress() throws IOException {
    String address = Ports.freeAddress();
    try (RaftNode first = RaftNode.start(RaftConfig.singleNode(dir.resolve("a"), address))) {
      assertThat(first.config().self().address()).isEqualTo(address);
      assertThatThrownBy(() -> RaftNode.start(RaftConfig.singleNode(dir.resolve("b"), address)))
          .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
          .hasMessageContaining("cannot start Raft node n1 on " + address);
    }
  }

  /** Snapshot files in Ratis's state machine directory ({@code DATA/GROUP-UUID/sm}). */
  private List<Path> snapshots() throws IOException {
    List<Path> found = new ArrayList<>();
    try (Stream<Path> groups = Files.list(dir)) {
      for (Path group : groups.filter(Files::isDirectory).toList()) {
        // Listing without stat: a snapshot being written may vanish (renamed) while we look.
        try (DirectoryStream<Path> files = Files.newDirectoryStream(group.resolve("sm"), "snapshot.*")) {
          files.forEach(file -> {
            if (file.getFileName().toString().matches("snapshot\\.\\d+_\\d+")) {
              found.add(file);
            }
          });
        }
      }
    }
    return found;
  }
}
