package dev.boxd.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.cgroup.Cgroups;
import dev.boxd.vmm.cgroup.VmCgroup;
import dev.boxd.vmm.qmp.QmpClient;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live QEMU process under supervision. It runs in its own session ({@code setsid}), so it
 * outlives the supervising JVM; a new supervisor {@link #attach}es through the run directory.
 * The single QMP connection doubles as the liveness signal: it closes when QEMU exits.
 */
public final class QemuVm implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QemuVm.class);
  /** How long a pause or resume polls for QEMU's reply before sleeping on it: longer than either takes. */
  private static final Duration SPIN = Duration.ofMillis(3);
  /**
   * Polling only pays while QEMU's two threads that answer a command (the monitor's I/O thread,
   * then the main loop) find a core the poller leaves them. On a 2-core host under load (load
   * average 9-10) it took one from them: {@code cont} on one QEMU, the four clients interleaved,
   * p50 of two runs of 60: raw QMP (a blocking read) 2,071 and 2,191 µs; this client polling 3 ms
   * 3,505 and 4,080; polling 0.3 ms 2,507 and 3,113; not polling 2,056 and 2,354.
   */
  static final int SPIN_MIN_CPUS = 4;
  private static final Duration TIMED_COMMAND_SPIN = timedCommandSpin(Runtime.getRuntime().availableProcessors());

  static Duration timedCommandSpin(int cpus) {
    return cpus >= SPIN_MIN_CPUS ? SPIN : Duration.ZERO;
  }

  private final RunDir run;
  private final long pid;
  private final QmpClient qmp;
  private final Optional<VmCgroup> cgroup;
  private final CompletableFuture<Void> exited = new CompletableFuture<>();
  private final QemuFiles files;
  private volatile AgentClient agent;
  private volatile boolean detached;

  private QemuVm(RunDir run, long pid, QmpClient qmp, Optional<VmCgroup> cgroup) {
    this.run = run;
    this.pid = pid;
    this.qmp = qmp;
    this.cgroup = cgroup;
    this.files = new QemuFiles(run, qmp);
    qmp.closed().thenRun(() -> Thread.ofVirtual().start(this::confirmExit));
  }

  // QMP closed: QEMU is exiting. Wait until the process is really gone before reporting it.
  private void confirmExit() {
    if (detached && isProcessAlive(pid)) {
      return; // the supervisor let go of a VM that keeps running
    }
    awaitGone(pid, Duration.ofSeconds(10));
    AgentClient a = agent;
    if (a != null) {
      a.close();
    }
    files.close();
    if (!isProcessAlive(pid)) {
      // The VM's group goes with its QEMU (a supervisor that let go of the VM leaves it be).
      cgroup.ifPresent(g -> Cgroups.remove(g, Duration.ofSeconds(5)));
    }
    exited.complete(null);
  }

  /** Starts QEMU and returns once its QMP socket answers. {@code enterPrefix} runs it in the VM namespace. */
  public static QemuVm launch(QemuLaunch launch, List<String> enterPrefix) {
    return launch(launch, enterPrefix, java.util.Map.of(), Optional.empty());
  }

  /**
   * As {@link #launch(QemuLaunch, List)}, with {@code environment} added to QEMU's (not in the argv
   * file), and QEMU in {@code cgroup} from its first instruction on (so that everything it
   * allocates is charged there). The group is removed if the launch fails, and when QEMU exits
   * while this supervisor watches it.
   */
  public static QemuVm launch(QemuLaunch launch, List<String> enterPrefix, java.util.Map<String, String> environment,
      Optional<VmCgroup> cgroup) {
    try {
      return start(launch, enterPrefix, environment, cgroup);
    } catch (RuntimeException e) {
      cgroup.ifPresent(g -> Cgroups.remove(g, Duration.ofSeconds(5)));
      throw e;
    }
  }

  private static QemuVm start(QemuLaunch launch, List<String> enterPrefix, java.util.Map<String, String> environment,
      Optional<VmCgroup> cgroup) {
    RunDir run = launch.runDir();
    run.create();
    List<String> argv = QemuArgs.build(launch);
    List<String> command = new ArrayList<>();
    if (launch.runAs().isPresent() || cgroup.isPresent()) {
      // A shell opens the disk for a confined QEMU (see QemuArgs.DISK_FD) and joins the group,
      // then becomes QEMU: no moment of it runs outside the group.
      command.addAll(List.of("sh", "-c", "if [ -n \"$1\" ]; then exec " + QemuArgs.DISK_FD + "<>\"$1\" " + QemuArgs.DISK_READ_ONLY_FD
          + "<\"$1\" || exit 125; fi; shift; while [ \"$1\" != -- ]; do echo $$ > \"$1\" || exit 125; shift; done; shift; exec \"$@\"",
          "boxd-qemu-launch", launch.runAs().isPresent() ? launch.disk().toString() : ""));
      cgroup.ifPresent(g -> command.addAll(g.procsFiles().stream().map(Path::toString).toList()));
      command.add("--");
    }
    command.add("setsid");
    if (!enterPrefix.isEmpty()) {
      command.addAll(enterPrefix);
      command.add("--");
    }
    if (!environment.isEmpty()) {
      // For QEMU alone, not setsid and nsenter before it (a preload library acts where it loads).
      command.add("env");
      environment.forEach((k, v) -> command.add(k + "=" + v));
    }
    command.addAll(argv);
    try {
      Files.deleteIfExists(run.qmpSocket());
      Files.deleteIfExists(run.qmpCommandSocket());
      Files.deleteIfExists(run.qmpFdSocket());
      Files.deleteIfExists(run.agentSocket());
      Files.deleteIfExists(run.pidFile());
      Files.writeString(run.argvFile(), String.join("\n", argv) + "\n");
      Process process = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(ProcessBuilder.Redirect.appendTo(run.qemuLog().toFile()))
          .redirectErrorStream(true)
          .start();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (true) {
        if (!process.isAlive()) {
          throw new BoxdException(ErrorCode.INTERNAL, "QEMU exited at start (code " + process.exitValue() + "): " + run.qemuLogTail(2000).strip());
        }
        if (Files.exists(run.qmpSocket()) && Files.exists(run.qmpCommandSocket()) && run.pid().isPresent()) {
          try {
            QmpClient qmp = QmpClient.connect(run.qmpSocket(), run.qmpCommandSocket(), Duration.ofSeconds(10));
            return new QemuVm(run, run.pid().orElseThrow(), qmp, cgroup);
          } catch (IOException e) {
            // not listening yet
          }
        }
        if (System.nanoTime() > deadline) {
          process.destroyForcibly();
          throw new BoxdException(ErrorCode.INTERNAL, "QEMU did not open its QMP socket within 30 s: " + run.qemuLogTail(2000).strip());
        }
        Thread.sleep(2);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start QEMU: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.INTERNAL, "interrupted while starting QEMU");
    }
  }

  /**
   * Re-attaches to a QEMU left running by an earlier supervisor, without disturbing it. Empty if
   * no QEMU of this run directory is alive (its pid is gone, or now belongs to another program).
   */
  public static Optional<QemuVm> attach(RunDir run) {
    Optional<Long> pid = run.pid();
    if (pid.isEmpty() || !isQemuOf(pid.get(), run)) {
      return Optional.empty();
    }
    try {
      return Optional.of(new QemuVm(run, pid.get(), QmpClient.connect(run.qmpSocket(), run.qmpCommandSocket(), Duration.ofSeconds(10)),
          Cgroups.host().of(pid.get())));
    } catch (IOException e) {
      log.warn("QEMU {} of {} is alive but its QMP socket does not answer: {}", pid.get(), run.dir(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Waits until process {@code pid} is gone, at most {@code wait}: QEMU is not this JVM's child, so
   * its exit is polled. Returns false only when interrupted meanwhile.
   */
  private static boolean awaitGone(long pid, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (isProcessAlive(pid) && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /**
   * Ends the QEMU of this run directory that no supervisor is attached to, if one runs, and
   * removes its control group once it is gone.
   */
  public static void killUnattached(RunDir run) {
    run.pid().filter(pid -> isQemuOf(pid, run)).ifPresent(pid -> {
      Optional<VmCgroup> group = Cgroups.host().of(pid);
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      if (awaitGone(pid, Duration.ofSeconds(10))) {
        group.ifPresent(g -> Cgroups.remove(g, Duration.ofSeconds(5)));
      }
    });
  }

  /** True if {@code pid} is alive and is the QEMU of this run directory (pids get reused). */
  public static boolean isQemuOf(long pid, RunDir run) {
    return isProcessAlive(pid) && cmdline(pid).contains(run.qmpSocket().toString());
  }

  static String cmdline(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /** Alive and not a zombie. */
  public static boolean isProcessAlive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      char state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'X';
    } catch (IOException e) {
      return false;
    }
  }

  public long pid() {
    return pid;
  }

  public RunDir runDir() {
    return run;
  }

  public QmpClient qmp() {
    return qmp;
  }

  /** The VM's control group, if it runs in one of its own. */
  public Optional<VmCgroup> cgroup() {
    return cgroup;
  }

  /** Completes once the QEMU process has exited. */
  public CompletableFuture<Void> exited() {
    return exited;
  }

  public boolean isAlive() {
    return !exited.isDone() && isProcessAlive(pid);
  }

  /** The agent connection, (re)connecting if needed; waits up to {@code timeout} for the guest. */
  public synchronized AgentClient agent(Duration timeout) {
    AgentClient current = agent;
    if (current != null && current.isOpen() && current.isSynced()) {
      return current;
    }
    if (!isAlive()) {
      throw BoxdException.precondition("the VM's QEMU process is not running");
    }
    try {
      if (current != null && current.isOpen()) {
        current.sync(timeout);
        return current;
      }
      agent = AgentClient.connect(run.agentSocket(), timeout);
      return agent;
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "the guest agent is not answering: " + e.getMessage(), e);
    }
  }

  /** Connects the agent socket now and synchronises later (see {@link AgentClient#open}). */
  public synchronized void connectAgentSocket() {
    try {
      agent = AgentClient.open(run.agentSocket());
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot connect to the agent socket: " + e.getMessage(), e);
    }
  }

  /** Drops the agent connection; the next {@link #agent} call synchronises afresh (after a guest reset). */
  public synchronized void dropAgent() {
    AgentClient current = agent;
    agent = null;
    if (current != null) {
      current.close();
    }
  }

  /** The file of the disk's active (top) layer, as QEMU has it open now. */
  public Path activeDisk() {
    for (JsonNode device : qmp.execute("query-block")) {
      if (QemuArgs.DISK_DEVICE.equals(device.path("device").asText())) {
        return files.pathOf(device.path("inserted").path("file").asText());
      }
    }
    throw new BoxdException(ErrorCode.INTERNAL, "QEMU " + pid + " has no disk named " + QemuArgs.DISK_DEVICE);
  }

  /**
   * Freezes the disk's active layer: {@code newTop}, an existing empty qcow2 overlay over the
   * current top, becomes the layer the guest writes, and the old top is left read-only (safe to
   * share as the backing file of other disks). The argv file is updated to name the new top, so
   * the run directory keeps describing the real disk. Best done while the VM is stopped.
   */
  public void snapshotDisk(Path newTop) {
    Path old = activeDisk();
    qmp.execute("blockdev-snapshot-sync", Map.of("device", QemuArgs.DISK_DEVICE, "snapshot-file", files.disk(newTop),
        "format", "qcow2", "mode", "existing"));
    try {
      String argv = Files.readString(run.argvFile());
      // The disk is named as file=PATH, or, handed over, in the opaque text of its descriptors.
      Files.writeString(run.argvFile(), argv.replace("file=" + old + ",", "file=" + newTop + ",")
          .replace(QemuFiles.READ_WRITE + old + "\n", QemuFiles.READ_WRITE + newTop + "\n")
          .replace(QemuFiles.READ_ONLY + old + "\n", QemuFiles.READ_ONLY + newTop + "\n"));
    } catch (IOException e) {
      log.warn("cannot update {} after a disk snapshot: {}", run.argvFile(), e.getMessage());
    }
  }

  /**
   * Writes the device state alone (no RAM, no configuration section; ~60 KiB) to {@code file}.
   * {@code live=false}: with the default, a stopped QEMU would give up its disk locks, as for
   * handing the disk to a migration target, and could not write its disk after {@code cont}.
   */
  public void saveDeviceState(Path file) {
    qmp.execute("xen-save-devices-state", Map.of("filename", files.output(file), "live", false));
  }

  /**
   * Hands the files of a coming {@link #saveDeviceState} and {@link #snapshotDisk} over now, while
   * the VM still runs; {@link #releaseSpentFiles} lets go of whatever was not used.
   */
  public void prepareCapture(Path deviceState, Path newTop) {
    files.prepare(deviceState, newTop);
  }

  /**
   * Lets go of the files handed to QEMU for a save or a disk snapshot that it no longer needs:
   * done with the VM running again, as QEMU closes them only then.
   */
  public void releaseSpentFiles() {
    files.giveBack();
  }

  /** Writes the whole VM state as a migration stream to {@code file} (the VM is left stopped) and waits for it. */
  public void migrateTo(Path file, Duration timeout) {
    files.migrate(file);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode info = qmp.execute("query-migrate");
      String status = info.path("status").asText();
      if ("completed".equals(status)) {
        return;
      }
      if ("failed".equals(status)) {
        throw new BoxdException(ErrorCode.INTERNAL, "migration to " + file + " failed: " + info.path("error-desc").asText()
            + " " + run.qemuLogTail(500).strip());
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BoxdException(ErrorCode.INTERNAL, "interrupted");
      }
    }
    throw new BoxdException(ErrorCode.INTERNAL, "migration to " + file + " did not finish within " + timeout);
  }

  /**
   * Loads a state file into a QEMU started with {@code -incoming defer} and waits until it is
   * loaded; the guest then runs (QEMU starts it unless the state says it was paused, in which
   * case it is continued here).
   */
  public void loadIncoming(Path stateFile, boolean ignoreShared, Duration timeout) {
    CompletableFuture<Void> loaded = new CompletableFuture<>();
    onEvent(event -> {
      if ("MIGRATION".equals(event.path("event").asText())) {
        String status = event.path("data").path("status").asText();
        if ("completed".equals(status)) {
          loaded.complete(null);
        } else if ("failed".equals(status)) {
          loaded.completeExceptionally(new BoxdException(ErrorCode.INTERNAL, "loading " + stateFile + " failed: "
              + run.qemuLogTail(1000).strip()));
        }
      }
    });
    List<Map<String, Object>> capabilities = new ArrayList<>();
    capabilities.add(Map.of("capability", "events", "state", true));
    if (ignoreShared) {
      capabilities.add(Map.of("capability", "x-ignore-shared", "state", true));
    }
    qmp.execute("migrate-set-capabilities", Map.of("capabilities", capabilities));
    files.migrateIncoming(stateFile);
    try {
      loaded.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, e.getCause().getMessage(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "loading " + stateFile + " did not finish within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.INTERNAL, "interrupted while loading " + stateFile);
    }
    if (!"running".equals(status())) {
      resume();
    }
    files.giveBack(); // the top layer is open read-write now (see QemuFiles)
  }

  /** QMP run state: "running", "paused", "inmigrate", "shutdown", ... */
  public String status() {
    return qmp.execute("query-status").path("status").asText();
  }

  public void pause() {
    qmp.executeNow("stop", TIMED_COMMAND_SPIN);
  }

  public void resume() {
    qmp.executeNow("cont", TIMED_COMMAND_SPIN);
    if (files.owed()) {
      // What was given back while paused is closed only now; not in the caller's time.
      Thread.ofVirtual().start(() -> {
        try {
          files.giveBack();
        } catch (RuntimeException e) {
          log.warn("QEMU {}: giving back descriptors after resume failed: {}", pid, e.getMessage());
        }
      });
    }
  }

  public void onEvent(Consumer<JsonNode> listener) {
    qmp.onEvent(listener);
  }

  /** Asks QEMU to exit now (no guest shutdown) and waits for it; then SIGKILL if needed. */
  public void quit(Duration wait) {
    try {
      qmp.execute("quit", Map.of(), Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      // QEMU may close the socket before answering; the wait below decides.
    }
    awaitExitOrKill(wait);
  }

  /** SIGKILL, then wait for the process to be gone. */
  public void kill() {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    awaitExitOrKill(Duration.ofSeconds(10));
  }

  /** Waits for the process to exit, sending SIGKILL if it has not within {@code wait}. */
  public void awaitExitOrKill(Duration wait) {
    try {
      exited.get(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      exited.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).exceptionally(t -> null).join();
    }
  }

  /** Drops the supervisor's connections; QEMU keeps running. */
  @Override
  public void close() {
    detached = true;
    AgentClient a = agent;
    if (a != null) {
      a.close();
    }
    files.close();
    qmp.close();
  }
}
