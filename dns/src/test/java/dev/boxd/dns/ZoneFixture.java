package dev.boxd.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Fsm;
import java.time.Instant;
import java.util.List;

/** States for the dns tests, made by applying real commands, and a zone config for {@code localhost}. */
final class ZoneFixture {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final ZoneConfig LOCALHOST = ZoneConfig.of("localhost", "127.0.0.1");

  private ZoneFixture() {}

  static ClusterState apply(ClusterState state, Command... commands) {
    for (Command command : commands) {
      Applied applied = Fsm.apply(state, state.appliedIndex() + 1, command);
      assertThat(applied.result().isOk()).as("%s: %s", command, applied.result()).isTrue();
      state = applied.state();
    }
    return state;
  }

  static ClusterState accounts() {
    return apply(ClusterState.empty(),
        new Command.CreateUser("u1", "alice", T0, 20),
        new Command.CreateUser("u2", "bob", T0, 20),
        new Command.RegisterWorker("w1", "127.0.0.1:7000", 64, 1 << 20, T0));
  }

  static Command.CreateVm vm(String id, String owner, String name, String publicIp, Instant at) {
    int n = Integer.parseInt(id.replaceAll("\\D", ""));
    return new Command.CreateVm(id, owner, name, 1, 512, 10, Ipv4.parse("10.77.0." + n), Ipv4.parse(publicIp), "w1", at);
  }

  static Command.SetAcmeChallenge challenge(String name, List<String> values, long expiresInSecs) {
    return new Command.SetAcmeChallenge(name, values, T0, T0.plusSeconds(expiresInSecs));
  }
}
