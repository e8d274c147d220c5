package dev.boxd.bench;

import dev.boxd.core.state.Command;
import dev.boxd.raft.RaftConfig;
import dev.boxd.raft.RaftNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Replicated-log write latency: sequential proposes of a small command to a one-node boxd log
 * (Ratis, in this process) beside sequential puts to a one-node etcd 3.4 (Debian
 * {@code etcd-server}) that this benchmark starts on loopback ports with a temporary data
 * directory and drives through its v3 JSON gateway ({@code POST /v3/kv/put}). Both make every
 * write durable (fsync) before answering. The two alternate in blocks so background load hits
 * both alike. Run with {@code bench/run.sh log [writes]}.
 */
public final class LogBench {
  private static final int WARMUP = 2000;
  private static final int BLOCK = 250;

  public static void main(String[] args) throws Exception {
    int writes = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    Path tmp = Files.createTempDirectory("boxd-logbench-");
    Optional<Path> etcdBinary = etcdBinary();
    if (etcdBinary.isEmpty()) {
      System.out.println("etcd is not installed, so there is no anchor to compare with: "
          + "apt-get install etcd-server (Debian 12 ships 3.4), then run again. Measuring boxd alone.");
    }
    Etcd etcd = null;
    try (RaftNode node = RaftNode.start(RaftConfig.singleNode(tmp.resolve("boxd"), "127.0.0.1:" + freePort()))) {
      BoxdWriter boxd = new BoxdWriter(node);
      if (etcdBinary.isPresent()) {
        etcd = Etcd.start(etcdBinary.get(), tmp.resolve("etcd"));
      }
      Stats boxdStats = new Stats();
      Stats etcdStats = new Stats();
      boxd.run(WARMUP, new Stats());
      if (etcd != null) {
        etcd.run(WARMUP, new Stats());
      }
      for (int done = 0; done < writes; done += BLOCK) {
        int block = Math.min(BLOCK, writes - done);
        boxd.run(block, boxdStats);
        if (etcd != null) {
          etcd.run(block, etcdStats);
        }
      }
      System.out.printf("%d sequential writes each, after %d warm-up writes; microseconds%n%n", writes, WARMUP);
      System.out.printf("%-34s %10s %10s%n", "", "p50", "p99");
      System.out.printf("%-34s %10d %10d%n", "boxd log (Ratis, 1 node)", boxdStats.p50(), boxdStats.p99());
      if (etcd != null) {
        System.out.printf("%-34s %10d %10d%n", etcd.version() + " (1 node, JSON gateway)", etcdStats.p50(), etcdStats.p99());
        System.out.printf("%-34s %9.2fx %9.2fx%n", "boxd / etcd", ratio(boxdStats.p50(), etcdStats.p50()),
            ratio(boxdStats.p99(), etcdStats.p99()));
      }
    } finally {
      if (etcd != null) {
        etcd.stop();
      }
      deleteTree(tmp);
    }
  }

  /** Overwrites one account's quota again and again: a command that does not grow the state. */
  private static final class BoxdWriter {
    private final RaftNode node;
    private int sequence;

    BoxdWriter(RaftNode node) {
      this.node = node;
      node.propose(new Command.CreateUser("bench", "bench", Instant.now(), 10)).orThrow();
    }

    void run(int count, Stats stats) {
      for (int i = 0; i < count; i++) {
        Command command = new Command.SetUserQuota("bench", 1 + sequence++ % 50);
        long t0 = System.nanoTime();
        node.propose(command).orThrow();
        stats.add((System.nanoTime() - t0) / 1000);
      }
    }
  }

  /** A one-node etcd on free loopback ports, ended by this benchmark by its pid. */
  private static final class Etcd {
    private final Process process;
    private final URI put;
    private final String version;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private int sequence;

    private Etcd(Process process, URI base, String version) {
      this.process = process;
      this.put = base.resolve("/v3/kv/put");
      this.version = version;
    }

    static Etcd start(Path binary, Path dataDir) throws IOException, InterruptedException {
      Files.createDirectories(dataDir);
      String client = "http://127.0.0.1:" + freePort();
      String peer = "http://127.0.0.1:" + freePort();
      Process process = new ProcessBuilder(binary.toString(), "--name", "bench", "--data-dir", dataDir.resolve("data").toString(),
          "--listen-client-urls", client, "--advertise-client-urls", client,
          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "bench=" + peer,
          "--logger", "zap", "--log-level", "warn")
          .redirectErrorStream(true)
          .redirectOutput(dataDir.resolve("etcd.log").toFile())
          .start();
      Etcd etcd = new Etcd(process, URI.create(client), version(binary));
      etcd.awaitHealthy(URI.create(client + "/health"), dataDir.resolve("etcd.log"));
      return etcd;
    }

    String version() {
      return version;
    }

    void run(int count, Stats stats) throws IOException, InterruptedException {
      Base64.Encoder b64 = Base64.getEncoder();
      String key = b64.encodeToString("bench/quota".getBytes(StandardCharsets.UTF_8));
      for (int i = 0; i < count; i++) {
        String value = b64.encodeToString(Integer.toString(1 + sequence++ % 50).getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(put)
            .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}"))
            .build();
        long t0 = System.nanoTime();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        stats.add((System.nanoTime() - t0) / 1000);
        if (response.statusCode() != 200) {
          throw new IOException("etcd answered a put with " + response.statusCode() + ": " + response.body());
        }
      }
    }

    private void awaitHealthy(URI health, Path log) throws IOException, InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IOException("etcd exited with " + process.exitValue() + "; its log:\n" + Files.readString(log));
        }
        try {
          HttpResponse<String> response = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(1)).build(),
              HttpResponse.BodyHandlers.ofString());
          if (response.statusCode() == 200 && response.body().contains("\"true\"")) {
            return;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
        Thread.sleep(50);
      }
      stop();
      throw new IOException("etcd did not become healthy within 30 s; its log:\n" + Files.readString(log));
    }

    /** SIGTERM by pid, then SIGKILL if it has not exited within 10 s. */
    void stop() throws InterruptedException {
      ProcessHandle handle = process.toHandle();
      handle.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        handle.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }

    private static String version(Path binary) throws IOException, InterruptedException {
      Process process = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(10, TimeUnit.SECONDS);
      return out.lines().findFirst().map(line -> line.replace("Version: ", "")).orElse("etcd");
    }
  }

  private static Optional<Path> etcdBinary() {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin");
    return Stream.concat(Stream.of(path.split(":")).map(dir -> Path.of(dir, "etcd")), Stream.of(Path.of("/usr/bin/etcd")))
        .filter(Files::isExecutable)
        .findFirst();
  }

  private static int freePort() throws IOException {
    return dev.boxd.testkit.FreePorts.tcp();
  }

  private static double ratio(long a, long b) {
    return b == 0 ? Double.NaN : (double) a / b;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      List<Path> all = new ArrayList<>(paths.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) {
        Files.deleteIfExists(p);
      }
    }
  }
}
