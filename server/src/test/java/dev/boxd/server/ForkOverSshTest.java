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
  static final LiveServer live = new LiveServer();
  static SshUser alice;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("alice");
  }

  static String exec(String vm, String command) throws Exception {
    return LiveServer.exec(alice, vm, command);
  }

  static long counter(String vm) throws Exception {
    return Long.parseLong(exec(vm, "cat /tmp/counter"));
  }

  @Test
  void aForkCarriesOnTheSourcesProcessesAndFilesWithItsOwnIdentity() throws Exception {
    json(alice.run("new", "--name=src", "--json"));
    try {
      exec("src", COUNTER);
      exec("src", "echo before > shared.txt && sync");
      long before = LiveServer.counterAbove(alice, "src", 0);

      JsonNode fork = json(alice.run("fork", "src", "--json"));
      assertThat(fork.path("name").asText()).as("the default name").isEqualTo("src-fork");
      assertThat(fork.path("forked_from").asText()).isEqualTo("src");
      assertThat(fork.path("status").asText()).isEqualTo("running");
      for (String field : List.of("vm_id", "url", "image", "boot_time_ms")) {
        assertThat(fork.has(field)).as(field).isTrue();
      }

      long inFork = counter("src-fork");
      assertThat(inFork).as("the counter went on from the source's value").isGreaterThanOrEqualTo(before);
      assertThat(counter("src-fork")).isGreaterThanOrEqualTo(inFork);
      assertThat(exec("src-fork", "cat shared.txt")).isEqualTo("before");

      exec("src", "echo only-in-src > after.txt");
      exec("src-fork", "echo only-in-fork > after.txt");
      assertThat(exec("src", "cat after.txt")).isEqualTo("only-in-src");
      assertThat(exec("src-fork", "cat after.txt")).isEqualTo("only-in-fork");

      String identity = "hostname; cat /etc/machine-id; cat /sys/class/net/eth0/address;"
          + " /usr/sbin/ip -o -4 addr show dev eth0 scope global; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub";
      List<String> src = List.of(exec("src", identity).split("\n"));
      List<String> copy = List.of(exec("src-fork", identity).split("\n"));
      assertThat(src).hasSize(5);
      assertThat(copy).hasSize(5);
      for (int i = 0; i < 5; i++) {
        assertThat(copy.get(i)).as("identity line %d", i).isNotEqualTo(src.get(i));
      }
      assertThat(copy.get(0)).isEqualTo("src-fork");

      // A second generation, and a fork of a paused VM (which stays paused).
      json(alice.run("fork", "src-fork", "--name=gen2", "--json"));
      assertThat(counter("gen2")).isGreaterThanOrEqualTo(inFork);
      assertThat(exec("gen2", "cat after.txt")).isEqualTo("only-in-fork");
      json(alice.run("pause", "src", "--json"));
      json(alice.run("fork", "src", "--name=from-paused", "--json"));
      assertThat(exec("from-paused", "cat after.txt")).isEqualTo("only-in-src");
      assertThat(json(alice.run("info", "src", "--json")).path("status").asText()).isEqualTo("standby");
      // A hibernated VM is copied from its saved memory; it sleeps on.
      exec("from-paused", "echo in-from-paused > hib.txt");
      json(alice.run("hibernate", "from-paused", "--json"));
      json(alice.run("fork", "from-paused", "--name=from-hibernated", "--json"));
      assertThat(exec("from-hibernated", "cat hib.txt; hostname")).isEqualTo("in-from-paused\nfrom-hibernated");
      assertThat(counter("from-hibernated")).isGreaterThanOrEqualTo(before);
      assertThat(json(alice.run("info", "from-paused", "--json")).path("status").asText()).isEqualTo("hibernated");

      SshUser.Run taken = alice.run("fork", "src", "--name=gen2");
      assertThat(taken.exit()).isEqualTo(ErrorCode.ALREADY_EXISTS.exitCode());
      assertThat(taken.err()).contains("already exists");
      assertThat(alice.run("fork", "nope").exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());

      // The source goes; its copies keep the disk layers they share with it.
      assertThat(alice.run("destroy", "-y", "src").exit()).isZero();
      assertThat(exec("src-fork", "sync; echo 3 | sudo tee /proc/sys/vm/drop_caches >/dev/null; cat shared.txt")).isEqualTo("before");
      json(alice.run("reboot", "gen2", "--json"));
      assertThat(exec("gen2", "cat shared.txt after.txt")).isEqualTo("before\nonly-in-fork");
    } finally {
      for (String vm : List.of("from-hibernated", "from-paused", "gen2", "src-fork", "src")) {
        alice.run("destroy", "-y", vm);
      }
    }
    assertThat(live.server().qemuPids()).isEmpty();
    assertThat(live.server().vmDirectories()).as("every VM directory and shared disk layer is gone").isEmpty();
  }

  @Test
  void aForkBeyondTheQuotaIsRefusedAndLeavesNothing() throws Exception {
    SshUser quinn = live.user("quinn");
    List<String> names = new java.util.ArrayList<>();
    try {
      assertThat(quinn.run("new", "--name=q0").exit()).isZero();
      names.add("q0");
      for (int i = 1; i < 10; i++) {
        SshUser.Run forked = quinn.run("fork", "q0", "--name=q" + i);
        assertThat(forked.exit()).as(forked.err()).isZero();
        names.add("q" + i);
      }
      SshUser.Run refused = quinn.run("fork", "q0", "--json");
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
