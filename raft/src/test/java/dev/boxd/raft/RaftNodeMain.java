package dev.boxd.raft;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.User;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * A Raft node as its own OS process, for fault tests. Arguments: {@code NODE_ID DATA_DIR
 * SNAPSHOT_THRESHOLD ID=HOST:PORT:voter|listener...}. It answers one-line commands on stdin:
 * <ul>
 *   <li>{@code write PREFIX COUNT} — proposes CreateUser PREFIX0, PREFIX1, ... one after the
 *       other in the background, printing {@code ack ID INDEX}, {@code rejected ID MESSAGE} or
 *       {@code error ID MESSAGE} for each, then {@code done};
 *   <li>{@code stop} — ends the write loop after the current write;
 *   <li>{@code leader} — prints {@code leader true|false};
 *   <li>{@code users INDEX} — waits until this replica applied INDEX, prints {@code users
 *       APPLIED ID,ID,...};
 *   <li>{@code exit} — closes the node and exits.
 * </ul>
 * Logs go to stderr, which the test keeps in a file per node.
 */
public final class RaftNodeMain {
  private RaftNodeMain() {}

  public static void main(String[] args) throws Exception {
    List<Peer> peers = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      String[] idRest = args[i].split("=", 2);
      String address = idRest[1].substring(0, idRest[1].lastIndexOf(':'));
      boolean voter = idRest[1].endsWith(":voter");
      peers.add(voter ? Peer.voter(idRest[0], address) : Peer.listener(idRest[0], address));
    }
    RaftConfig config = RaftConfig.of(args[0], Path.of(args[1]), peers).withSnapshotThreshold(Long.parseLong(args[2]));
    AtomicBoolean stopWriting = new AtomicBoolean();
    try (RaftNode node = RaftNode.start(config)) {
      say("ready");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        String[] words = line.trim().split(" ");
        switch (words[0]) {
          case "write" -> {
            stopWriting.set(false);
            Thread.ofVirtual().start(() -> write(node, words[1], Integer.parseInt(words[2]), stopWriting));
          }
          case "stop" -> stopWriting.set(true);
          case "leader" -> say("leader " + node.isLeader());
          case "users" -> {
            ClusterState state = node.readAtLeast(Long.parseLong(words[1]), Duration.ofSeconds(30));
            say("users " + state.appliedIndex() + " " + state.users().stream().map(User::id).collect(Collectors.joining(",")));
          }
          case "exit" -> {
            return;
          }
          default -> say("unknown " + line);
        }
      }
    }
  }

  private static void write(RaftNode node, String prefix, int count, AtomicBoolean stop) {
    for (int i = 0; i < count && !stop.get(); i++) {
      String id = prefix + i;
      try {
        switch (node.propose(Users.create(id))) {
          case Result.Ok ok -> say("ack " + id + " " + ok.index());
          case Result.Rejected rejected -> say("rejected " + id + " " + rejected.code() + " " + rejected.message());
        }
      } catch (RuntimeException e) {
        say("error " + id + " " + e.getMessage().replace('\n', ' '));
      }
    }
    say("done");
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
