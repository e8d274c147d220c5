package dev.boxd.raft;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A {@link RaftNodeMain} in a child JVM started with this test JVM's java and class path. Lines
 * it prints are queued for the test; its stderr goes to {@code NODE.log}. The test ends it by pid.
 */
final class NodeProcess implements AutoCloseable {
  private final String id;
  private final Process process;
  private final Writer stdin;
  private final Path log;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private NodeProcess(String id, Process process, Path log) {
    this.id = id;
    this.process = process;
    this.log = log;
    this.stdin = process.outputWriter(StandardCharsets.UTF_8);
    Thread.ofVirtual().name("stdout-" + id).start(() -> {
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = out.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("stdout closed: " + e);
      }
    });
  }

  static NodeProcess launch(String id, Path dataDir, Path logDir, long snapshotThreshold, List<Peer> peers) throws IOException {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> command = new ArrayList<>(List.of(java,
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), RaftNodeMain.class.getName(),
        id, dataDir.toString(), Long.toString(snapshotThreshold)));
    for (Peer peer : peers) {
      command.add(peer.id() + "=" + peer.address() + ":" + (peer.isVoter() ? "voter" : "listener"));
    }
    Files.createDirectories(logDir);
    Path log = logDir.resolve(id + ".log");
    Process process = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    NodeProcess node = new NodeProcess(id, process, log);
    node.await(line -> line.equals("ready"), Duration.ofSeconds(60));
    return node;
  }

  String id() {
    return id;
  }

  long pid() {
    return process.pid();
  }

  void send(String line) {
    try {
      stdin.write(line + "\n");
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("node " + id + " (pid " + pid() + ") no longer reads its stdin", e);
    }
  }

  /** Sends a command and returns the first line it prints that matches. */
  String ask(String command, Predicate<String> answer, Duration timeout) {
    send(command);
    return await(answer, timeout);
  }

  /** The next line matching {@code wanted}; lines before it are dropped. */
  String await(Predicate<String> wanted, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError("node " + id + " printed nothing expected within " + timeout + "; its log:\n" + logTail());
        }
        if (wanted.test(line)) {
          return line;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** The next line, or null if none comes within the timeout. */
  String poll(Duration timeout) throws InterruptedException {
    return lines.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** SIGKILL, as a crash or a power cut would: nothing is flushed, nothing closed. */
  void kill() throws InterruptedException {
    ProcessHandle.of(pid()).ifPresent(ProcessHandle::destroyForcibly);
    process.waitFor(10, TimeUnit.SECONDS);
  }

  String logTail() {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Asks the node to exit, then ends the process by its pid if it has not within 10 s. */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        try {
          send("exit");
        } catch (UncheckedIOException alreadyGone) {
          // its stdin is closed: it is exiting or dead
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          kill();
        }
      }
    } catch (InterruptedException e) {
      ProcessHandle.of(pid()).ifPresent(ProcessHandle::destroyForcibly);
      Thread.currentThread().interrupt();
    }
  }
}
