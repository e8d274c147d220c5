package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static dev.boxd.core.state.Fixtures.user;
import static dev.boxd.core.state.Fixtures.vm;
import static dev.boxd.core.state.Fixtures.worker;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Exposure.Protocol;
import dev.boxd.core.state.codec.SnapshotCodec;
import org.junit.jupiter.api.Test;

class EdgeCommandsTest {
  private final ClusterState s = given(user("u1"), user("u2"), worker("w1"), vm("vm1", "u1", "app", "10.77.0.5"),
      vm("vm2", "u2", "db", "10.77.0.6"));

  @Test
  void everyVmHasTheDefaultRouteAndNamedOnesAreAdded() {
    assertThat(s.proxiesOf("vm1")).containsExactly(new Proxy("vm1", "default", 8000));

    ClusterState added = ok(s, new Command.AddProxy("vm1", "web", 3000));

    assertThat(added.proxiesOf("vm1")).containsExactly(new Proxy("vm1", "default", 8000), new Proxy("vm1", "web", 3000));
    assertThat(added.proxiesOf("vm2")).containsExactly(new Proxy("vm2", "default", 8000));
    assertThat(added.route("app", "web")).contains(new Proxy("vm1", "web", 3000));
    assertThat(added.route("app", "")).contains(new Proxy("vm1", "default", 8000));
    assertThat(added.route("app", "api")).isEmpty();
    assertThat(added.route("nope", "")).isEmpty();
  }

  @Test
  void setPortMovesTheDefaultRouteOrANamedOne() {
    ClusterState moved = ok(ok(s, new Command.AddProxy("vm1", "web", 3000)), new Command.SetProxyPort("vm1", "default", 8080));
    moved = ok(moved, new Command.SetProxyPort("vm1", "web", 3001));

    assertThat(moved.proxiesOf("vm1")).containsExactly(new Proxy("vm1", "default", 8080), new Proxy("vm1", "web", 3001));
    rejected(moved, new Command.SetProxyPort("vm1", "api", 80), ErrorCode.NOT_FOUND, "VM \"app\" has no route named \"api\"");
  }

  @Test
  void badRoutesAreRefusedNamingWhatIsWrong() {
    rejected(s, new Command.AddProxy("vm1", "Web_1", 3000), ErrorCode.INVALID_ARGUMENT, "invalid route name \"Web_1\": expected a DNS label");
    rejected(s, new Command.AddProxy("vm1", "default", 3000), ErrorCode.INVALID_ARGUMENT, "every VM has the route \"default\"");
    rejected(s, new Command.AddProxy("vm1", "web", 0), ErrorCode.INVALID_ARGUMENT, "port 0 is not a TCP/UDP port: expected 1 to 65535");
    rejected(s, new Command.AddProxy("vm1", "web", 65536), ErrorCode.INVALID_ARGUMENT, "port 65536");
    rejected(s, new Command.AddProxy("vm9", "web", 80), ErrorCode.NOT_FOUND, "no VM with id \"vm9\"");
    ClusterState one = ok(s, new Command.AddProxy("vm1", "web", 3000));
    rejected(one, new Command.AddProxy("vm1", "web", 3001), ErrorCode.ALREADY_EXISTS, "has a route named \"web\" already");
    rejected(one, new Command.RemoveProxy("vm1", "default"), ErrorCode.INVALID_ARGUMENT, "cannot be deleted");
    rejected(one, new Command.RemoveProxy("vm1", "api"), ErrorCode.NOT_FOUND, "no route named \"api\"");
    assertThat(ok(one, new Command.RemoveProxy("vm1", "web")).proxiesOf("vm1")).containsExactly(new Proxy("vm1", "default", 8000));
  }

  @Test
  void aVmHoldsAtMostTenNamedRoutes() {
    ClusterState full = s;
    for (int i = 0; i < Proxy.MAX_PER_VM; i++) {
      full = ok(full, new Command.AddProxy("vm1", "r" + i, 3000 + i));
    }
    rejected(full, new Command.AddProxy("vm1", "one-more", 80), ErrorCode.RESOURCE_EXHAUSTED, "has 10 routes, the most a VM may have");
  }

  @Test
  void exposeKeepsItsPublicPortIsUniquePerProtocolAndHasALimit() {
    ClusterState one = ok(s, new Command.Expose("vm1", Protocol.TCP, 5000, 40000));
    ClusterState again = ok(one, new Command.Expose("vm1", Protocol.TCP, 5000, 40007));
    assertThat(again.exposuresOf("vm1")).as("re-exposing keeps the public port").containsExactly(new Exposure("vm1", Protocol.TCP, 5000, 40000));

    Applied taken = next(one, new Command.Expose("vm2", Protocol.TCP, 6000, 40000));
    assertThat(taken.result()).isEqualTo(new Result.Rejected(ErrorCode.ALREADY_EXISTS, "public tcp port 40000 is taken", Result.Reason.PORT_TAKEN));
    ClusterState udp = ok(one, new Command.Expose("vm2", Protocol.UDP, 6000, 40000));
    assertThat(udp.exposure(Protocol.UDP, 40000)).contains(new Exposure("vm2", Protocol.UDP, 6000, 40000));

    ClusterState three = ok(ok(one, new Command.Expose("vm1", Protocol.UDP, 5000, 40001)), new Command.Expose("vm1", Protocol.TCP, 22, 40002));
    rejected(three, new Command.Expose("vm1", Protocol.TCP, 80, 40003), ErrorCode.RESOURCE_EXHAUSTED, "has 3 ports exposed");
    rejected(s, new Command.Expose("vm1", Protocol.TCP, 80, 39999), ErrorCode.INVALID_ARGUMENT, "outside 40000-60000");
    rejected(s, new Command.Expose("vm1", Protocol.TCP, 0, 40000), ErrorCode.INVALID_ARGUMENT, "port 0");

    ClusterState removed = ok(three, new Command.Unexpose("vm1", Protocol.UDP, 5000));
    assertThat(removed.exposuresOf("vm1")).extracting(Exposure::publicPort).containsExactly(40000, 40002);
    rejected(removed, new Command.Unexpose("vm1", Protocol.UDP, 5000), ErrorCode.NOT_FOUND, "has no udp port 5000 exposed");
  }

  @Test
  void sshPortsAreUniqueInRangeAndFixed() {
    ClusterState given = ok(s, new Command.SetSshPort("vm1", 10022));
    assertThat(given.vm("vm1").orElseThrow().sshPort()).isEqualTo(10022);
    assertThat(given.vmBySshPort(10022)).map(Vm::id).contains("vm1");
    assertThat(given.usedSshPorts()).containsExactly(10022);

    Applied taken = next(given, new Command.SetSshPort("vm2", 10022));
    assertThat(((Result.Rejected) taken.result()).reason()).isEqualTo(Result.Reason.PORT_TAKEN);
    rejected(given, new Command.SetSshPort("vm1", 10023), ErrorCode.FAILED_PRECONDITION, "keeps its port for life");
    rejected(s, new Command.SetSshPort("vm1", 22), ErrorCode.INVALID_ARGUMENT, "SSH port 22 is outside 10000-30000");
    rejected(s, new Command.SetSshPort("vm1", 30001), ErrorCode.INVALID_ARGUMENT, "outside 10000-30000");
  }

  @Test
  void destroyTakesTheRoutesAndForwardsAtOnceAndRemoveFreesTheSshPort() {
    ClusterState set = ok(ok(ok(s, new Command.AddProxy("vm1", "web", 3000)), new Command.Expose("vm1", Protocol.TCP, 5000, 40000)),
        new Command.SetSshPort("vm1", 10022));
    ClusterState destroyed = ok(set, new Command.DestroyVm("vm1"));

    assertThat(destroyed.proxies()).isEmpty();
    assertThat(destroyed.exposures()).isEmpty();
    assertThat(destroyed.route("app", "web")).isEmpty();
    rejected(destroyed, new Command.AddProxy("vm1", "web", 3000), ErrorCode.FAILED_PRECONDITION, "is being destroyed");
    assertThat(destroyed.usedSshPorts()).as("held until the VM is removed").containsExactly(10022);
    assertThat(ok(destroyed, new Command.RemoveVm("vm1", "w1")).usedSshPorts()).isEmpty();
  }

  @Test
  void routesForwardsAndSshPortsOutliveARestartThroughTheSnapshot() {
    ClusterState set = ok(ok(ok(ok(s, new Command.AddProxy("vm1", "web", 3000)), new Command.SetProxyPort("vm2", "default", 9000)),
        new Command.Expose("vm1", Protocol.UDP, 5000, 40000)), new Command.SetSshPort("vm2", 29999));

    ClusterState loaded = SnapshotCodec.decode(SnapshotCodec.encode(set));

    assertThat(loaded).isEqualTo(set);
    assertThat(loaded.proxiesOf("vm2")).containsExactly(new Proxy("vm2", "default", 9000));
    assertThat(loaded.exposure(Protocol.UDP, 40000)).isPresent();
    assertThat(loaded.vmBySshPort(29999)).map(Vm::name).contains("db");
  }

  private static ClusterState ok(ClusterState state, Command command) {
    Applied applied = next(state, command);
    assertThat(applied.result()).as("result of %s", command).isInstanceOf(Result.Ok.class);
    return applied.state();
  }

  private static void rejected(ClusterState state, Command command, ErrorCode code, String message) {
    Applied applied = next(state, command);
    assertThat(applied.result()).as("%s", command).isInstanceOfSatisfying(Result.Rejected.class, r -> {
      assertThat(r.code()).isEqualTo(code);
      assertThat(r.message()).contains(message);
    });
    assertThat(applied.state().proxies()).as("a rejection changes nothing").isEqualTo(state.proxies());
    assertThat(applied.state().exposures()).isEqualTo(state.exposures());
  }
}
