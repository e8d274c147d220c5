package dev.boxd.core.state;

import java.util.Objects;

/** The outcome of applying one log entry: the state after it and the command's result. */
public record Applied(ClusterState state, Result result) {
  public Applied {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(result, "result");
  }
}
