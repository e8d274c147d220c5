package dev.boxd.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4;
import java.time.Instant;
import java.util.List;

/** Commands and a small log runner shared by the state tests. */
final class Fixtures {
  static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456789Z");

  private Fixtures() {}

  static Command.CreateUser user(String id) {
    return new Command.CreateUser(id, "name-" + id, T0, ClusterState.DEFAULT_MAX_VMS);
  }

  static Command.RegisterWorker worker(String id) {
    return new Command.RegisterWorker(id, "10.0.0.1:7000", 4, 8192, T0);
  }

  static Command.CreateVm vm(String id, String owner, String name, String ip) {
    return new Command.CreateVm(id, owner, name, 2, 1024, 100, Ipv4.parse(ip), Ipv4.parse("203.0.113.1"), "w1", T0);
  }

  static Command.CreateVm vm(String id, String owner, String name, String ip, String publicIp) {
    return new Command.CreateVm(id, owner, name, 2, 1024, 100, Ipv4.parse(ip), Ipv4.parse(publicIp), "w1", T0);
  }

  /** Applies commands from the empty state at indexes 1, 2, ...; each must succeed. */
  static ClusterState given(Command... commands) {
    ClusterState state = ClusterState.empty();
    for (Command command : commands) {
      Applied applied = Fsm.apply(state, state.appliedIndex() + 1, command);
      assertThat(applied.result()).as("result of %s", command).isInstanceOf(Result.Ok.class);
      state = applied.state();
    }
    return state;
  }

  static Applied next(ClusterState state, Command command) {
    return Fsm.apply(state, state.appliedIndex() + 1, command);
  }

  static List<Command> base() {
    return List.of(user("u1"), user("u2"), worker("w1"));
  }
}
