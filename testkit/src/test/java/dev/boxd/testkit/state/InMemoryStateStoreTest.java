package dev.boxd.testkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Result;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class InMemoryStateStoreTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void appliesCommandsAtConsecutiveIndexesWithTheRealStateMachine() {
    try (InMemoryStateStore store = new InMemoryStateStore()) {
      Result first = store.propose(new Command.CreateUser("u1", "alice", AT, 2));
      Result second = store.propose(new Command.RegisterWorker("w1", "10.0.0.1", 4, 8192, AT));

      assertThat(first).isEqualTo(new Result.Ok(1));
      assertThat(second).isEqualTo(new Result.Ok(2));
      assertThat(store.read().appliedIndex()).isEqualTo(2);
      assertThat(store.read().users()).extracting(u -> u.name()).containsExactly("alice");
      assertThat(store.commands()).hasSize(2);
    }
  }

  @Test
  void aRejectionChangesNothingButTheAppliedIndex() {
    try (InMemoryStateStore store = new InMemoryStateStore()) {
      store.apply(new Command.CreateUser("u1", "alice", AT, 2));
      Result again = store.propose(new Command.CreateUser("u1", "alice", AT, 2));

      assertThat(again).isInstanceOf(Result.Rejected.class);
      assertThat(((Result.Rejected) again).code()).isEqualTo(ErrorCode.ALREADY_EXISTS);
      assertThat(store.read().users()).hasSize(1);
      assertThat(store.read().appliedIndex()).isEqualTo(2);
      assertThatThrownBy(() -> store.apply(new Command.CreateUser("u1", "carol", AT, 2)))
          .isInstanceOf(BoxdException.class);
    }
  }

  @Test
  void watchersSeeEveryEntryInOrderWithTheStateAlreadyPublished() {
    try (InMemoryStateStore store = new InMemoryStateStore()) {
      List<Long> seen = new CopyOnWriteArrayList<>();
      List<Long> readInside = new CopyOnWriteArrayList<>();
      store.watch((Applied a) -> {
        seen.add(a.state().appliedIndex());
        readInside.add(store.read().appliedIndex());
      });
      store.propose(new Command.CreateUser("u1", "alice", AT, 2));
      store.propose(new Command.CreateUser("u2", "alice", AT, 2));
      store.propose(new Command.CreateUser("u3", "bob", AT, 2));

      assertThat(seen).containsExactly(1L, 2L, 3L);
      assertThat(readInside).containsExactly(1L, 2L, 3L);
    }
  }

  @Test
  void readAtLeastWaitsForTheIndexAndTimesOutWithDeadlineExceeded() throws Exception {
    try (InMemoryStateStore store = new InMemoryStateStore()) {
      assertThatThrownBy(() -> store.readAtLeast(1, Duration.ofMillis(20)))
          .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED));

      CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(
          () -> store.readAtLeast(2, Duration.ofSeconds(10)).appliedIndex());
      store.propose(new Command.CreateUser("u1", "alice", AT, 2));
      store.propose(new Command.CreateUser("u2", "bob", AT, 2));

      assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo(2L);
    }
  }

  @Test
  void aClosedStoreIsUnavailable() {
    InMemoryStateStore store = new InMemoryStateStore();
    store.close();
    assertThatThrownBy(() -> store.propose(new Command.CreateUser("u1", "alice", AT, 2)))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
  }
}
