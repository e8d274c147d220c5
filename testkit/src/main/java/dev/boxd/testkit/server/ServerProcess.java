package dev.boxd.testkit.server;

import dev.boxd.testkit.FreePorts;

import dev.boxd.testkit.TestNetworks;
import dev.boxd.testkit.TestPaths;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code boxd server} in a process of its own (so a test can SIGKILL it), with a temporary
 * data directory that shares the machine's image and golden cache, its own VM namespace and
 * free ports. Its log goes to {@code server.log} in the data directory and is printed on failure.
 *
 * <p>The server's main class is named, not imported: testkit sits below the server module, whose
 * tests (and those of any module above it) put the server on the class path the process is
 * started with.
 */
public final class ServerProcess implements AutoCloseable {
  /** The class {@code boxd} runs: {@code server}, {@code admin} and the other commands. */
  public static final String MAIN_CLASS = "dev.boxd.server.Main";

  public final Path dataDir;
  public final int sshPort;
  public final int vmSshPort;
  public final int raftPort;
  /** The port of its dns role on 127.0.0.1, UDP and TCP alike. */
  public final int dnsPort;
  /** The HTTPS edge's port (on 127.0.0.1 and every VM's public address), and plain HTTP's. */
  public final int httpsPort;
  public final int httpPort;
  /** The port of the gRPC API on 127.0.0.1. */
  public final int apiPort;
  public final String subnet;
  /** The link net of the server's uplink to the host: its first address is the host's end. */
  public final String egressNet;
  /** The edge address: each VM's own SSH port and exposed ports are there. */
  public final String edgeAddress;
  private String namespace;
  private Process process;
  private final List<String> extraArgs = new ArrayList<>();
  private String caPem;

  public ServerProcess() throws IOException {
    dataDir = Files.createTempDirectory("boxd-server-test-");
    Files.createSymbolicLink(dataDir.resolve("images"), TestPaths.cacheDir().resolve("images"));
    Files.createDirectories(TestPaths.cacheDir().resolve("golden"));
    Files.createSymbolicLink(dataDir.resolve("golden"), TestPaths.cacheDir().resolve("golden"));
    sshPort = FreePorts.tcp();
    vmSshPort = FreePorts.tcp();
    raftPort = FreePorts.tcp();
    dnsPort = FreePorts.udpAndTcp();
    httpsPort = FreePorts.tcp();
    httpPort = FreePorts.tcp();
    apiPort = FreePorts.tcp();
    namespace = TestNetworks.uniqueName("bxs");
    subnet = TestNetworks.uniqueSubnet();
    egressNet = TestNetworks.uniqueLinkNet();
    edgeAddress = TestNetworks.uniqueLoopback();
  }

  /** The VM namespace of {@code other} instead of one of its own (to see the second server refused). */
  public ServerProcess sharingNamespaceOf(ServerProcess other) {
    namespace = other.namespace;
    return this;
  }

  /**
   * An images directory of its own instead of the shared cache's, holding links to the shared
   * cache's built images: what {@code boxd image import} makes here is removed with the server.
   */
  public ServerProcess privateImages() throws IOException {
    Path images = dataDir.resolve("images");
    Files.delete(images);
    Files.createDirectories(images);
    try (Stream<Path> built = Files.list(TestPaths.cacheDir().resolve("images"))) {
      for (Path image : built.filter(p -> p.getFileName().toString().matches("[0-9a-f]{64}")).toList()) {
        Files.createSymbolicLink(images.resolve(image.getFileName()), image);
      }
    }
    return this;
  }

  /** What a host command printed and how it exited. */
  public record HostRun(int exit, String output) {}

  /** Runs {@code boxd ARGS --data DATA} on this server's host (image import, image list): its exit code and output. */
  public HostRun boxd(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Dboxd.home=" + TestPaths.repositoryRoot(),
        "-cp", System.getProperty("java.class.path"), MAIN_CLASS));
    command.addAll(List.of(args));
    command.addAll(List.of("--data", dataDir.toString()));
    Process run = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new HostRun(run.waitFor(), out);
  }

  /** More {@code boxd server} options, for the next {@link #start}. */
  public ServerProcess withArgs(String... args) {
    extraArgs.addAll(List.of(args));
    return this;
  }

  /** Longest a server may take to say it is running (a golden VM is made on the first start of a size). */
  static final java.time.Duration START_TIMEOUT = java.time.Duration.ofMinutes(10);

  private static String readLog(Path log) throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no output)";
  }

  /** Starts the server and returns once its front door listens. */
  public ServerProcess start() throws IOException {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Dboxd.home=" + TestPaths.repositoryRoot(), "-cp", System.getProperty("java.class.path"), MAIN_CLASS,
        "server", "--data", dataDir.toString(), "--ssh-port", Integer.toString(sshPort), "--vm-ssh-port", Integer.toString(vmSshPort), "--raft-port", Integer.toString(raftPort),
        "--https", "127.0.0.1:" + httpsPort, "--http", "127.0.0.1:" + httpPort, "--api", "127.0.0.1:" + apiPort,
        "--vcpus", "1", "--memory", "1024", "--netns", namespace, "--subnet", subnet,
        "--egress-net", egressNet, "--edge-address", edgeAddress, "--image-recipe", TestPaths.imageRecipe(), "--dns", "127.0.0.1:" + dnsPort));
    command.addAll(extraArgs);
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("BOXD_LOG_LEVEL", "WARN");
    Path log = dataDir.resolve("server.log");
    process = builder.start();
    var lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    // The log is copied on a thread of its own, for as long as the server runs: a platform thread, as
    // every reader of a process's pipe in the kit is (a read of a pipe holds a virtual thread's carrier,
    // and a few such readers starve every other virtual thread of a 2-core test JVM). start() waits for the
    // ready line, but not forever: a server that hangs before it is ready fails the test, it does not stall it.
    var ready = new java.util.concurrent.CompletableFuture<Boolean>();
    Thread.ofPlatform().daemon().start(() -> {
      try {
        String line;
        while ((line = lines.readLine()) != null) {
          Files.writeString(log, line + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
              java.nio.file.StandardOpenOption.APPEND);
          if (line.startsWith("boxd is running")) {
            ready.complete(true);
          }
        }
      } catch (IOException ignored) {
        // process ended
      }
      ready.complete(false);
    });
    boolean started;
    try {
      started = ready.get(START_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException("server not ready after " + START_TIMEOUT.toSeconds() + " s:\n" + readLog(log));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while the server started");
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
    if (!started) {
      throw new IllegalStateException("server exited before it was ready:\n" + readLog(log));
    }
    return this;
  }

  /** The VM network namespace this server runs its VMs in. */
  public String namespace() {
    return namespace;
  }

  public long pid() {
    return process.pid();
  }

  /** SIGKILL: no shutdown hooks, no goodbye. */
  public void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /**
   * The PEM of the CA the server's edge certificates are signed by ({@code boxd ca --quiet}): asked
   * once, since the CA is the data directory's for the server's whole life (a JVM per class that
   * asks would cost seconds each on a small CI machine).
   */
  public synchronized String caCertificate() throws IOException, InterruptedException {
    if (caPem == null) {
      caPem = askCaCertificate();
    }
    return caPem;
  }

  private String askCaCertificate() throws IOException, InterruptedException {
    Process ca = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp", System.getProperty("java.class.path"),
        MAIN_CLASS, "ca", "--quiet", "--data", dataDir.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String pem = new String(ca.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (ca.waitFor() != 0 || !pem.startsWith("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalStateException("boxd ca failed: " + pem);
    }
    return pem;
  }

  /** Runs {@code boxd admin ARGS} against this server; returns what it printed (stdout and stderr). */
  public String admin(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "-cp", System.getProperty("java.class.path"), MAIN_CLASS, "admin", "--data", dataDir.toString()));
    command.addAll(List.of(args));
    Process admin = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(admin.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    admin.waitFor();
    return out;
  }

  /**
   * Sends one request line to the server's admin socket ({@code add-key USER KEY-LINE}, …) and
   * returns its answer after {@code ok}: what {@link #admin} does without starting a JVM for the
   * {@code boxd admin} command, for set-up steps whose command line other tests cover.
   */
  public String adminRequest(String request) throws IOException {
    Path socket = dataDir.resolve("admin.sock");
    try (var channel = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
      java.nio.channels.Channels.newOutputStream(channel).write((request + "\n").getBytes(StandardCharsets.UTF_8));
      String answer = new BufferedReader(new InputStreamReader(java.nio.channels.Channels.newInputStream(channel), StandardCharsets.UTF_8))
          .readLine();
      if (answer == null || !answer.startsWith("ok")) {
        throw new IllegalStateException("admin request \"" + request + "\" to " + socket + " failed: " + answer);
      }
      return answer.substring(Math.min(3, answer.length()));
    }
  }

  public String log() {
    try {
      return Files.readString(dataDir.resolve("server.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** The QEMUs of this server's VMs: a warm VM waiting in the pool is not a VM (yet). */
  public List<Long> qemuPids() {
    return allQemus().filter(p -> !isWaitingWarmVm(p)).map(ProcessHandle::pid).toList();
  }

  private Stream<ProcessHandle> allQemus() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains("qemu-system") && c.contains(dataDir.toString())).orElse(false));
  }

  // Its argv names "-pidfile <VM directory>/run/qemu.pid"; a waiting warm VM's directory has pool.json.
  private static boolean isWaitingWarmVm(ProcessHandle qemu) {
    String[] args = qemu.info().arguments().orElse(new String[0]);
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("-pidfile")) {
        return Files.exists(Path.of(args[i + 1]).getParent().getParent().resolve("pool.json"));
      }
    }
    return false;
  }

  /** What is in the worker's {@code vms} directory, without warm VMs waiting in the pool. */
  public List<Path> vmDirectories() throws java.io.IOException {
    Path vms = dataDir.resolve("worker").resolve("vms");
    if (!Files.isDirectory(vms)) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(vms)) {
      return dirs.filter(d -> !Files.exists(d.resolve("pool.json"))).toList();
    }
  }

  /**
   * Stops the server, then removes whatever it left: VMs, the namespace, the uplink's end and table
   * on the host, the data directory.
   */
  @Override
  public void close() throws Exception {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
    for (long pid : allQemus().map(ProcessHandle::pid).toList()) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
    new ProcessBuilder("ip", "netns", "delete", namespace).start().waitFor();
    dev.boxd.net.EgressLink.removeFromHost(namespace);
    Files.deleteIfExists(Path.of("/run/boxd", "netns-" + namespace + ".owner"));
    try (Stream<Path> walk = Files.walk(dataDir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
