package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.COUNTER;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code fork} through the SSH front door of a real server: the copy carries on the source's
 * running processes and files, then lives its own life with its own identity; forks of forks and
 * of paused VMs work; the source's destroy does not take its copies' disks along.
 */
class ForkOverSshTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("fork-alice");
  }

  static String exec(String vm, String command) throws Exception {
    return LiveServer.exec(alice, vm, command);
  }

  static long counter(String vm) throws Exception {
    return Long.parseLong(exec(vm, "cat /tmp/counter"));
  }

  @Test
  void aForkCarriesOnTheSourcesProcessesAndFilesWithItsOwnIdentity() throws Exception {
    json(alice.run("new", "--name=fork-src", "--json"));
    try {
      exec("fork-src", COUNTER);
      exec("fork-src", "echo before > shared.txt && sync");
      long before = LiveServer.counterAbove(alice, "fork-src", 0);

      JsonNode fork = json(alice.run("fork", "fork-src", "--json"));
      assertThat(fork.path("name").asText()).as("the default name").isEqualTo("fork-src-fork");
      assertThat(fork.path("forked_from").asText()).isEqualTo("fork-src");
      assertThat(fork.path("status").asText()).isEqualTo("running");
      for (String field : List.of("vm_id", "url", "image", "boot_time_ms")) {
        assertThat(fork.has(field)).as(field).isTrue();
      }

      long inFork = counter("fork-src-fork");
      assertThat(inFork).as("the counter went on from the source's value").isGreaterThanOrEqualTo(before);
      assertThat(counter("fork-src-fork")).isGreaterThanOrEqualTo(inFork);
      assertThat(exec("fork-src-fork", "cat shared.txt")).isEqualTo("before");

      exec("fork-src", "echo only-in-src > after.txt");
      exec("fork-src-fork", "echo only-in-fork > after.txt");
      assertThat(exec("fork-src", "cat after.txt")).isEqualTo("only-in-src");
      assertThat(exec("fork-src-fork", "cat after.txt")).isEqualTo("only-in-fork");

      String identity = "hostname; cat /etc/machine-id; cat /sys/class/net/eth0/address;"
          + " /usr/sbin/ip -o -4 addr show dev eth0 scope global; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub";
      List<String> src = List.of(exec("fork-src", identity).split("\n"));
      List<String> copy = List.of(exec("fork-src-fork", identity).split("\n"));
      assertThat(src).hasSize(5);
      assertThat(copy).hasSize(5);
      for (int i = 0; i < 5; i++) {
        assertThat(copy.get(i)).as("identity line %d", i).isNotEqualTo(src.get(i));
      }
      assertThat(copy.get(0)).isEqualTo("fork-src-fork");

      // A second generation, and a fork of a paused VM (which stays paused).
      json(alice.run("fork", "fork-src-fork", "--name=fork-gen2", "--json"));
      assertThat(counter("fork-gen2")).isGreaterThanOrEqualTo(inFork);
      assertThat(exec("fork-gen2", "cat after.txt")).isEqualTo("only-in-fork");
      json(alice.run("pause", "fork-src", "--json"));
      json(alice.run("fork", "fork-src", "--name=fork-from-paused", "--json"));
      assertThat(exec("fork-from-paused", "cat after.txt")).isEqualTo("only-in-src");
      assertThat(json(alice.run("info", "fork-src", "--json")).path("status").asText()).isEqualTo("standby");
      // A hibernated VM is copied from its saved memory; it sleeps on.
      exec("fork-from-paused", "echo in-from-paused > hib.txt");
      json(alice.run("hibernate", "fork-from-paused", "--json"));
      json(alice.run("fork", "fork-from-paused", "--name=fork-from-hibernated", "--json"));
      assertThat(exec("fork-from-hibernated", "cat hib.txt; hostname")).isEqualTo("in-from-paused\nfork-from-hibernated");
      assertThat(counter("fork-from-hibernated")).isGreaterThanOrEqualTo(before);
      assertThat(json(alice.run("info", "fork-from-paused", "--json")).path("status").asText()).isEqualTo("hibernated");

      SshUser.Run taken = alice.run("fork", "fork-src", "--name=fork-gen2");
      assertThat(taken.exit()).isEqualTo(ErrorCode.ALREADY_EXISTS.exitCode());
      assertThat(taken.err()).contains("already exists");
      assertThat(alice.run("fork", "nope").exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());

      // The source goes; its copies keep the disk layers they share with it.
      assertThat(alice.run("destroy", "-y", "fork-src").exit()).isZero();
      assertThat(exec("fork-src-fork", "sync; echo 3 | sudo tee /proc/sys/vm/drop_caches >/dev/null; cat shared.txt")).isEqualTo("before");
      json(alice.run("reboot", "fork-gen2", "--json"));
      assertThat(exec("fork-gen2", "cat shared.txt after.txt")).isEqualTo("before\nonly-in-fork");
    } finally {
      for (String vm : List.of("fork-from-hibernated", "fork-from-paused", "fork-gen2", "fork-src-fork", "fork-src")) {
        alice.run("destroy", "-y", vm);
      }
    }
    assertThat(live.server().qemuPids()).isEmpty();
    assertThat(live.server().vmDirectories()).as("every VM directory and shared disk layer is gone").isEmpty();
  }

  @Test
  void aForkBeyondTheQuotaIsRefusedAndLeavesNothing() throws Exception {
    SshUser quinn = live.user("fork-quinn");
    List<String> names = new java.util.ArrayList<>();
    try {
      assertThat(quinn.run("new", "--name=fork-q0").exit()).isZero();
      names.add("fork-q0");
      for (int i = 1; i < 10; i++) {
        SshUser.Run forked = quinn.run("fork", "fork-q0", "--name=fork-q" + i);
        assertThat(forked.exit()).as(forked.err()).isZero();
        names.add("fork-q" + i);
      }
      SshUser.Run refused = quinn.run("fork", "fork-q0", "--json");
      assertThat(refused.exit()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED.exitCode());
      assertThat(LiveServer.JSON.readTree(refused.out()).path("error").path("message").asText()).contains("quota reached: 10 of 10");
      assertThat(LiveServer.JSON.readTree(quinn.run("list", "--json").out())).hasSize(10);
    } finally {
      for (String name : names) {
        quinn.run("destroy", "-y", name);
      }
    }
    assertThat(live.server().qemuPids()).isEmpty();
    assertThat(live.server().vmDirectories()).isEmpty();
  }
}
