package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.COUNTER;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Auto-suspend, hibernation and waking by traffic against a real server (hibernating after 6 s
 * of standby instead of an hour): idle VMs sleep after their timeout and not before, a VM with
 * auto-suspend 0 never does, a TCP connection wakes a sleeping VM and is answered, and a
 * hibernated VM wakes with its processes, files and a right clock.
 */
class SleepAndWakeTest {
  static final int HIBERNATE_AFTER_SECS = 6;
  @RegisterExtension
  static final LiveServer live = new LiveServer("--hibernate-after", Integer.toString(HIBERNATE_AFTER_SECS));
  static SshUser alice;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("alice");
  }

  static String status(String vm) throws Exception {
    return json(alice.run("info", vm, "--json")).path("status").asText();
  }

  /** Polls {@code info} until the VM has {@code wanted}; returns how long that took. */
  static Duration awaitStatus(String vm, String wanted, Duration limit) throws Exception {
    long start = System.nanoTime();
    String seen;
    while (!(seen = status(vm)).equals(wanted)) {
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("%s still %s, waiting for %s", vm, seen, wanted).isLessThan(limit);
      Thread.sleep(100);
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }

  /** From inside {@code from}: connects to {@code to}'s sshd and prints its banner. */
  static String sshBannerFrom(String from, String toIp) throws Exception {
    SshUser.Run run = alice.run("exec", from, "--", """
        python3 -c 'import socket, sys
        s = socket.create_connection((sys.argv[1], 22), timeout=20)
        print(s.recv(64).decode().split("-")[0])' %s""".formatted(toIp));
    assertThat(run.exit()).as(run.err()).isZero();
    return run.out().strip();
  }

  @Test
  void anIdleVmSleepsAfterItsTimeoutAndATcpConnectionWakesIt() throws Exception {
    long created = System.nanoTime();
    JsonNode idle = json(alice.run("new", "--name=idle", "--auto-suspend-timeout=3", "--json"));
    json(alice.run("new", "--name=awake", "--auto-suspend-timeout=0", "--json"));
    try {
      assertThat(idle.path("auto_suspend_timeout").asInt()).isEqualTo(3);
      assertThat(json(alice.run("info", "awake", "--json")).path("auto_suspend_timeout").asInt()).isZero();
      assertThat(alice.run("info", "idle").out()).contains("auto-suspend: after 3 s idle");

      awaitStatus("idle", "standby", Duration.ofSeconds(40));
      assertThat(Duration.ofNanos(System.nanoTime() - created)).as("not before its timeout").isGreaterThanOrEqualTo(Duration.ofSeconds(3));

      // A bare TCP connection from another VM reaches the sleeping VM's sshd and gets its banner.
      assertThat(sshBannerFrom("awake", idle.path("ip").asText())).isEqualTo("SSH");
      assertThat(status("idle")).as("woken by the connection").isEqualTo("running");

      awaitStatus("idle", "standby", Duration.ofSeconds(40));
      assertThat(status("awake")).as("auto-suspend 0: never").isEqualTo("running");

      // Turned off, the woken VM stays up.
      json(alice.run("auto-suspend", "idle", "0", "--json"));
      assertThat(alice.run("exec", "idle", "--", "true").exit()).as("exec wakes it").isZero();
      Thread.sleep(5_000); // longer than the 3 s it slept after before: watching that nothing happens
      assertThat(status("idle")).isEqualTo("running");
      assertThat(alice.run("auto-suspend", "idle", "-5").exit()).isEqualTo(dev.boxd.core.ErrorCode.INVALID_ARGUMENT.exitCode());
    } finally {
      alice.run("destroy", "-y", "idle");
      alice.run("destroy", "-y", "awake");
    }
  }

  @Test
  void aHibernatedVmWakesWithItsProcessesFilesAndClock() throws Exception {
    JsonNode sleeper = json(alice.run("new", "--name=sleeper", "--auto-suspend-timeout=2", "--json"));
    json(alice.run("new", "--name=caller", "--auto-suspend-timeout=0", "--json"));
    try {
      assertThat(alice.run("exec", "sleeper", "--", COUNTER + " echo kept > kept.txt; sync").exit()).isZero();
      long before = LiveServer.counterAbove(alice, "sleeper", 0);
      int qemusAwake = live.server().qemuPids().size();

      // Idle, then long in standby: hibernated on its own, with its QEMU gone.
      awaitStatus("sleeper", "hibernated", Duration.ofSeconds(60));
      assertThat(live.server().qemuPids()).hasSize(qemusAwake - 1);

      // Traffic wakes it: a TCP connection from another VM is answered.
      assertThat(sshBannerFrom("caller", sleeper.path("ip").asText())).isEqualTo("SSH");
      assertThat(status("sleeper")).isIn("running", "standby");
      long first = Long.parseLong(alice.run("exec", "sleeper", "--", "cat /tmp/counter").out().strip());
      assertThat(first).as("the counter goes on from where it was").isGreaterThanOrEqualTo(before);
      assertThat(LiveServer.counterAbove(alice, "sleeper", first)).as("the counter process lives on").isGreaterThan(first);
      List<String> lines = List.of(LiveServer.exec(alice, "sleeper", "cat kept.txt; date +%s").split("\n"));
      assertThat(lines.get(0)).isEqualTo("kept");
      assertThat(Math.abs(Long.parseLong(lines.get(1)) - System.currentTimeMillis() / 1000)).as("guest clock after waking")
          .isLessThanOrEqualTo(2);

      // Asked for, and woken by a verb.
      json(alice.run("auto-suspend", "sleeper", "0", "--json"));
      assertThat(json(alice.run("hibernate", "sleeper", "--json")).path("status").asText()).isEqualTo("hibernated");
      assertThat(alice.run("exec", "sleeper", "--", "cat kept.txt").out()).isEqualTo("kept\n");
      assertThat(status("sleeper")).isEqualTo("running");
    } finally {
      alice.run("destroy", "-y", "sleeper");
      alice.run("destroy", "-y", "caller");
    }
    assertThat(live.server().qemuPids()).isEmpty();
  }
}
