package dev.boxd.sdk;

import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.ForkVmRequest;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.HibernateVmRequest;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.PauseVmRequest;
import dev.boxd.api.v1.RebootVmRequest;
import dev.boxd.api.v1.ResumeVmRequest;
import dev.boxd.api.v1.SetAutoSuspendRequest;
import dev.boxd.api.v1.StartVmRequest;
import dev.boxd.api.v1.StopVmRequest;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** Your VMs. Every method takes a VM's id or its name. */
public final class Machines {
  /** Statuses a VM does not leave by itself: waiting for {@code running} past them is pointless. */
  private static final Set<String> SETTLED_NOT_RUNNING = Set.of("stopped", "failed", "destroying", "destroyed");

  private final Rpc rpc;
  private final Sleeper sleeper;

  Machines(Rpc rpc, Sleeper sleeper) {
    this.rpc = rpc;
    this.sleeper = sleeper;
  }

  /** How {@link #waitUntilReady} waits between looks; a test gives its own. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  /** Creates and boots a VM; returns once it is running (or throws). */
  public Machine create(CreateOptions options) {
    return Machine.created(rpc.call(Rpc.BOOTING, api -> api.createVm(options.toRequest())));
  }

  /** A VM with the server's defaults and a generated name. */
  public Machine create() {
    return create(CreateOptions.builder().build());
  }

  /** Throws {@link NotFoundError} when there is no such VM of yours. */
  public Machine get(String idOrName) {
    return Machine.of(rpc.unary(api -> api.getVm(GetVmRequest.newBuilder().setVmId(idOrName).build())));
  }

  public List<Machine> list() {
    return rpc.unary(api -> api.listVms(ListVmsRequest.getDefaultInstance())).getVmsList().stream().map(Machine::of).toList();
  }

  /** Destroys the VM and its disk. */
  public void delete(String id) {
    rpc.unary(api -> api.destroyVm(DestroyVmRequest.newBuilder().setVmId(id).build()));
  }

  /** Copies a VM (memory, disk, processes) into a new one; {@code name} null: {@code SRC-fork}. */
  public Machine fork(String source, String name) {
    var request = ForkVmRequest.newBuilder().setSourceVmId(source);
    if (name != null) {
      request.setName(name);
    }
    var forked = rpc.call(Rpc.BOOTING, api -> api.forkVm(request.build()));
    return forked.hasVm() ? Machine.of(forked.getVm()) : get(forked.getVmId());
  }

  public Machine fork(String source) {
    return fork(source, null);
  }

  /** Cold boot of a stopped VM. */
  public void start(String id) {
    rpc.call(Rpc.BOOTING, api -> api.startVm(StartVmRequest.newBuilder().setVmId(id).build()));
  }

  /** Powers off, keeping the disk. */
  public void stop(String id) {
    rpc.unary(api -> api.stopVm(StopVmRequest.newBuilder().setVmId(id).build()));
  }

  /** Cold restart: memory lost, disk kept. */
  public void reboot(String id) {
    rpc.call(Rpc.BOOTING, api -> api.rebootVm(RebootVmRequest.newBuilder().setVmId(id).build()));
  }

  /** Freezes the VM in RAM (status {@code standby}). */
  public PauseResult pause(String id) {
    return new PauseResult(rpc.unary(api -> api.pauseVm(PauseVmRequest.newBuilder().setVmId(id).build())).getSuspendUs());
  }

  public ResumeResult resume(String id) {
    return new ResumeResult(rpc.unary(api -> api.resumeVm(ResumeVmRequest.newBuilder().setVmId(id).build())).getResumeUs());
  }

  /** Saves the VM's memory to disk and frees its RAM (status {@code hibernated}); it wakes on demand. */
  public Machine hibernate(String id) {
    return Machine.of(rpc.call(Rpc.BOOTING, api -> api.hibernateVm(HibernateVmRequest.newBuilder().setVmId(id).build())));
  }

  /** Idle time before standby; {@link Duration#ZERO} turns auto-suspend off. */
  public Machine setAutoSuspend(String id, Duration timeout) {
    int secs = CreateOptions.seconds("timeout", timeout);
    return Machine.of(rpc.unary(api -> api.setAutoSuspend(SetAutoSuspendRequest.newBuilder().setVmId(id).setTimeoutSecs(secs).build())));
  }

  /**
   * Waits until the VM is {@code running}, looking every so often (a second at most). Throws at
   * once if it is stopped or failed (it would not get there by itself), and a {@link BoxdError}
   * with DEADLINE_EXCEEDED when {@code timeout} passes first.
   */
  public Machine waitUntilReady(String id, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Duration pause = Duration.ofMillis(50);
    while (true) {
      Machine vm = get(id);
      if (vm.isRunning()) {
        return vm;
      }
      if (SETTLED_NOT_RUNNING.contains(vm.status())) {
        throw new ConflictError(Status.Code.FAILED_PRECONDITION, "VM '" + id + "' is " + vm.status() + ", not running"
            + (vm.detail().isEmpty() ? "" : " (" + vm.detail() + ")") + ": start it first", null);
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new BoxdError(Status.Code.DEADLINE_EXCEEDED, "VM '" + id + "' is still " + vm.status() + " after " + timeout
            + ": wait longer, or look at it with get()");
      }
      try {
        sleeper.sleep(Duration.ofNanos(Math.min(left, pause.toNanos())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BoxdError(Status.Code.CANCELLED, "interrupted while waiting for VM '" + id + "'", e);
      }
      pause = pause.multipliedBy(2).compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1) : pause.multipliedBy(2);
    }
  }

  /** Runs a shell command line and waits for it; no stdin. */
  public ExecResult exec(String id, String command) {
    return exec(id, ExecOptions.of(command));
  }

  /** Runs an argv (quoted for the shell) and waits for it; no stdin. */
  public ExecResult exec(String id, List<String> argv) {
    return exec(id, ExecOptions.of(argv));
  }

  /** Runs a command with the options' stdin (none: it reads EOF), collecting its output. */
  public ExecResult exec(String id, ExecOptions options) {
    // A call refused for its token never started the command, and the options hold all of its input.
    return rpc.retryingExpiredToken(() -> execOnce(id, options));
  }

  private ExecResult execOnce(String id, ExecOptions options) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    ExecHandler collect = new ExecHandler() {
      @Override
      public void onStdout(byte[] data) {
        out.writeBytes(data);
      }

      @Override
      public void onStderr(byte[] data) {
        err.writeBytes(data);
      }
    };
    try (var session = new ExecSession(ExecCall.start(rpc, id, options, collect, false))) {
      session.closeStdin(); // the options' stdin, if any, went out as the call started
      int exit = session.awaitExit();
      return new ExecResult(exit, out.toByteArray(), err.toByteArray());
    }
  }

  /**
   * Starts a command whose output goes to {@code handler} as it comes; the options' stdin (if any)
   * goes first, then write more through the session and close it.
   */
  public ExecSession execStream(String id, ExecOptions options, ExecHandler handler) {
    return new ExecSession(ExecCall.start(rpc, id, options, handler, false));
  }

  /** Starts a command whose output is read as an iteration of chunks; write its stdin through the stream. */
  public ExecStream execStream(String id, ExecOptions options) {
    return ExecStream.start(rpc, id, options);
  }
}
