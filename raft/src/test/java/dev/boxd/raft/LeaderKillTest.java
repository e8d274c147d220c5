package dev.boxd.raft;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.raft.testing.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault test: three voters and a listener, each its own OS process. The listener writes (as
 * a worker or proxy node would, through its own node to whichever voter leads) and the leader is
 * SIGKILLed in the middle of the stream. Writes must go on after a new leader is elected, and
 * every write that was acknowledged, before or after the kill, must be on the surviving voters,
 * on the listener, and on the killed node once it is started again on its data directory
 * (snapshot plus log replay).
 */
@Timeout(240)
class LeaderKillTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int ACKS_BEFORE_KILL = 150;
  private static final int ACKS_AFTER_KILL = 150;
  private static final long SNAPSHOT_THRESHOLD = 64;

  @TempDir Path dir;

  @Test
  void acknowledgedWritesSurviveSigkillOfTheLeader() throws Exception {
    List<Peer> peers = List.of(
        Peer.voter("n1", Ports.freeAddress()), Peer.voter("n2", Ports.freeAddress()), Peer.voter("n3", Ports.freeAddress()),
        Peer.listener("l1", Ports.freeAddress()));
    Map<String, NodeProcess> nodes = new LinkedHashMap<>();
    long started = System.nanoTime();
    try {
      for (Peer peer : peers) {
        nodes.put(peer.id(), launch(peer.id(), peers));
      }
      NodeProcess leader = awaitLeader(nodes.values());
      System.out.printf("%d processes up, %s leads, after %d ms%n", nodes.size(), leader.id(), millisSince(started));
      NodeProcess writer = nodes.get("l1");

      writer.send("write w 1000000");
      Map<String, Long> acked = new LinkedHashMap<>();
      List<String> failures = new ArrayList<>();
      long writing = System.nanoTime();
      collect(writer, acked, failures, ACKS_BEFORE_KILL, WAIT);
      System.out.printf("%d writes through the listener in %d ms%n", acked.size(), millisSince(writing));

      long killedAt = System.nanoTime();
      leader.kill();
      int before = acked.size();
      collect(writer, acked, failures, 1, WAIT);
      long failoverMs = millisSince(killedAt);
      collect(writer, acked, failures, ACKS_AFTER_KILL - 1, WAIT);
      writer.send("stop");
      drainUntilDone(writer, acked, failures);
      System.out.printf("leader %s killed after %d acknowledged writes; next ack %d ms later; %d acknowledged in all%n",
          leader.id(), before, failoverMs, acked.size());

      assertThat(failures).as("writes refused or failed (a refusal would mean a retry applied twice)").isEmpty();
      long last = acked.values().stream().mapToLong(Long::longValue).max().orElseThrow();
      for (NodeProcess survivor : nodes.values()) {
        if (survivor != leader) {
          assertThat(usersAt(survivor, last)).as("users on %s", survivor.id()).containsAll(acked.keySet());
        }
      }

      long restarting = System.nanoTime();
      NodeProcess restarted = launch(leader.id(), peers);
      nodes.put(leader.id(), restarted);
      assertThat(usersAt(restarted, last)).as("users on restarted %s", leader.id()).containsAll(acked.keySet());
      System.out.printf("killed node restarted and caught up in %d ms%n", millisSince(restarting));
    } catch (AssertionError | RuntimeException e) {
      nodes.values().forEach(node -> System.out.println("---- log of " + node.id() + " (pid " + node.pid() + ")\n" + node.logTail()));
      throw e;
    } finally {
      for (NodeProcess node : nodes.values()) {
        node.close();
      }
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  private NodeProcess launch(String id, List<Peer> peers) throws Exception {
    return NodeProcess.launch(id, dir.resolve(id), dir.resolve("logs"), SNAPSHOT_THRESHOLD, peers);
  }

  private static NodeProcess awaitLeader(Iterable<NodeProcess> nodes) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (NodeProcess node : nodes) {
        if (node.ask("leader", line -> line.startsWith("leader "), WAIT).equals("leader true")) {
          return node;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no leader elected within " + WAIT);
  }

  /** Reads the writer's output until {@code count} more writes are acknowledged. */
  private static void collect(NodeProcess writer, Map<String, Long> acked, List<String> failures, int count, Duration timeout)
      throws InterruptedException {
    int target = acked.size() + count;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (acked.size() < target) {
      String line = writer.poll(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (line == null) {
        throw new AssertionError("only " + acked.size() + " of " + target + " writes acknowledged within " + timeout
            + "; failures: " + failures);
      }
      record(line, acked, failures);
    }
  }

  private static void drainUntilDone(NodeProcess writer, Map<String, Long> acked, List<String> failures)
      throws InterruptedException {
    for (String line; !(line = writer.await(l -> true, WAIT)).equals("done"); ) {
      record(line, acked, failures);
    }
  }

  private static void record(String line, Map<String, Long> acked, List<String> failures) {
    String[] words = line.split(" ", 3);
    switch (words[0]) {
      case "ack" -> acked.put(words[1], Long.parseLong(words[2]));
      case "rejected", "error" -> failures.add(line);
      default -> { }
    }
  }

  private static Set<String> usersAt(NodeProcess node, long index) {
    String line = node.ask("users " + index, l -> l.startsWith("users "), WAIT);
    String[] words = line.split(" ", 3);
    return words.length < 3 ? Set.of() : new HashSet<>(Arrays.asList(words[2].split(",")));
  }
}
