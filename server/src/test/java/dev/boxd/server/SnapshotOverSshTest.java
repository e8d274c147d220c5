package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.COUNTER;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Snapshots through the SSH front door of a real server: saved from a running VM, started any
 * number of times with the VM's processes and files, outliving the VM; and the failure cases
 * (names, absent snapshots, a source destroyed while it is forked) leave nothing behind.
 */
class SnapshotOverSshTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("snap-alice");
  }

  static String exec(String vm, String command) throws Exception {
    return LiveServer.exec(alice, vm, command);
  }

  static void assertNothingLeft() throws Exception {
    assertThat(json(alice.run("list", "--json"))).isEmpty();
    assertThat(live.server().qemuPids()).isEmpty();
    assertThat(live.server().vmDirectories()).as("left in vms").isEmpty();
    Path snapshots = live.server().dataDir.resolve("worker").resolve("snapshots");
    if (Files.isDirectory(snapshots)) {
      try (var left = Files.list(snapshots)) {
        assertThat(left.toList()).as("left in snapshots").isEmpty();
      }
    }
  }

  @Test
  void aSnapshotStartsVmsAnyNumberOfTimesAndOutlivesItsVm() throws Exception {
    List<String> made = new ArrayList<>(List.of("snap-src"));
    json(alice.run("new", "--name=snap-src", "--json"));
    try {
      exec("snap-src", COUNTER);
      exec("snap-src", "echo saved > state.txt && sync");
      long before = LiveServer.counterAbove(alice, "snap-src", 0);

      JsonNode saved = json(alice.run("snapshot", "save", "snap-src", "base", "--json"));
      assertThat(saved.path("name").asText()).isEqualTo("base");
      assertThat(saved.path("vm").asText()).isEqualTo("snap-src");
      assertThat(saved.path("size_bytes").asLong()).isPositive();
      assertThat(exec("snap-src", "echo after-save > later.txt; cat state.txt")).as("the source runs on").isEqualTo("saved");
      JsonNode list = json(alice.run("snapshot", "list", "--json"));
      assertThat(list).extracting(n -> n.path("name").asText()).containsExactly("base");

      for (String name : List.of("snap-c1", "snap-c2")) {
        JsonNode vm = json(alice.run("new", "--from-snapshot=base", "--name=" + name, "--json"));
        made.add(name);
        assertThat(vm.path("status").asText()).isEqualTo("running");
        assertThat(exec(name, "hostname")).isEqualTo(name);
        assertThat(exec(name, "cat state.txt")).isEqualTo("saved");
        assertThat(exec(name, "test -e later.txt && echo yes || echo no")).as("taken before that").isEqualTo("no");
        long counter = Long.parseLong(exec(name, "cat /tmp/counter"));
        assertThat(counter).as("the counter process goes on in %s", name).isGreaterThanOrEqualTo(before);
        assertThat(LiveServer.counterAbove(alice, name, counter)).isGreaterThan(counter);
      }
      exec("snap-c1", "echo mine > own.txt");
      assertThat(exec("snap-c2", "test -e own.txt && echo yes || echo no")).isEqualTo("no");

      // The VM goes; the snapshot stays and still starts VMs; its removal keeps what they need.
      assertThat(alice.run("destroy", "-y", "snap-src").exit()).isZero();
      made.remove("snap-src");
      json(alice.run("new", "--from-snapshot=base", "--name=snap-c3", "--json"));
      made.add("snap-c3");
      assertThat(exec("snap-c3", "cat state.txt")).isEqualTo("saved");
      assertThat(json(alice.run("snapshot", "rm", "base", "--json")).path("removed").asBoolean()).isTrue();
      assertThat(json(alice.run("snapshot", "list", "--json"))).isEmpty();
      json(alice.run("reboot", "snap-c1", "--json"));
      assertThat(exec("snap-c1", "cat state.txt own.txt")).isEqualTo("saved\nmine");
    } finally {
      for (String vm : made) {
        alice.run("destroy", "-y", vm);
      }
    }
    assertNothingLeft();
  }

  @Test
  void badNamesAbsentSnapshotsAndARacingDestroyLeaveNothingBehind() throws Exception {
    json(alice.run("new", "--name=snap-one", "--json"));
    try {
      SshUser.Run bad = alice.run("snapshot", "save", "snap-one", "Bad_Name");
      assertThat(bad.exit()).isEqualTo(ErrorCode.INVALID_ARGUMENT.exitCode());
      assertThat(bad.err()).contains("invalid snapshot name \"Bad_Name\"");
      assertThat(alice.run("snapshot", "save", "nope", "s").exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
      assertThat(alice.run("snapshot", "frobnicate").err()).contains("unknown snapshot action \"frobnicate\"");
      json(alice.run("snapshot", "save", "snap-one", "s1", "--json"));
      SshUser.Run taken = alice.run("snapshot", "save", "snap-one", "s1");
      assertThat(taken.exit()).isEqualTo(ErrorCode.ALREADY_EXISTS.exitCode());
      assertThat(alice.run("snapshot", "rm", "nope").exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
      SshUser.Run absent = alice.run("new", "--from-snapshot=nope", "--name=snap-x");
      assertThat(absent.exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
      assertThat(absent.err()).contains("no snapshot named \"nope\"");
      assertThat(alice.run("new", "--from-snapshot=s1", "--vcpu=1").err()).contains("takes the snapshot's size");
      assertThat(json(alice.run("list", "--json"))).extracting(n -> n.path("name").asText()).containsExactly("snap-one");
      json(alice.run("snapshot", "rm", "s1", "--json"));

      // The source is destroyed while it is being forked: either order is fine, but nothing is half-made.
      CompletableFuture<SshUser.Run> fork = CompletableFuture.supplyAsync(() -> {
        try {
          return alice.run("fork", "snap-one", "--name=snap-racer");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      SshUser.Run destroyed = alice.run("destroy", "-y", "snap-one");
      assertThat(destroyed.exit()).as(destroyed.err()).isZero();
      SshUser.Run forked = fork.get();
      if (forked.exit() == 0) {
        assertThat(exec("snap-racer", "hostname")).isEqualTo("snap-racer");
        assertThat(alice.run("destroy", "-y", "snap-racer").exit()).isZero();
      } else {
        assertThat(forked.err()).startsWith("error: ");
        assertThat(json(alice.run("list", "--json"))).extracting(n -> n.path("name").asText()).doesNotContain("snap-racer");
      }
    } finally {
      alice.run("destroy", "-y", "snap-one");
      alice.run("destroy", "-y", "snap-racer");
    }
    assertNothingLeft();
  }
}
