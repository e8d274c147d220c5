package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Fsm;

/** Comparisons of replicas, which may have applied entries that carry no command since. */
final class States {
  private States() {}

  /**
   * {@code actual} holds the same records as {@code expected}, at the same or a later index: the
   * log only moved on by entries without a command (Ratis appends leader, membership and commit
   * metadata entries of its own).
   */
  static void assertSameRecords(ClusterState actual, ClusterState expected) {
    assertThat(actual.appliedIndex()).isGreaterThanOrEqualTo(expected.appliedIndex());
    ClusterState moved = actual.appliedIndex() == expected.appliedIndex() ? expected : Fsm.skip(expected, actual.appliedIndex());
    assertThat(actual).isEqualTo(moved);
  }
}
