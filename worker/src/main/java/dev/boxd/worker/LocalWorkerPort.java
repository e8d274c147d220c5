package dev.boxd.worker;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.EgressTraffic;
import dev.boxd.vmm.agent.AgentException;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import dev.boxd.worker.reconcile.IdleWatch;
import dev.boxd.worker.reconcile.Outcome;
import dev.boxd.worker.reconcile.Reconciler;
import dev.boxd.worker.runtime.PauseTiming;
import dev.boxd.worker.runtime.VmRuntime;
import dev.boxd.workerport.GuestCommand;
import dev.boxd.workerport.GuestProcess;
import dev.boxd.workerport.Reconciled;
import dev.boxd.workerport.WorkerPort;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/** This process's worker behind the {@link WorkerPort}: calls into its runtime, reconciler and idle watch. */
public final class LocalWorkerPort implements WorkerPort {
  /** How long a caller waits for this replica to apply the entry it wrote. */
  private static final Duration INDEX_WAIT = Duration.ofSeconds(30);

  private final VmRuntime runtime;
  private final Reconciler reconciler;
  private final IdleWatch idle;

  public LocalWorkerPort(VmRuntime runtime, Reconciler reconciler, IdleWatch idle) {
    this.runtime = runtime;
    this.reconciler = reconciler;
    this.idle = idle;
  }

  @Override
  public GuestProcess exec(String vmId, GuestCommand command, OutputStream stdout, OutputStream stderr) {
    ExecRequest request = ExecRequest.of(command.command()).withEnv(command.env()).withTimeout(command.timeout().orElse(null));
    if (command.tty().isPresent()) {
      GuestCommand.Tty tty = command.tty().get();
      request = request.withTty(new ExecRequest.WindowSize(tty.rows(), tty.cols()), tty.term());
    }
    return new AgentProcess(runtime.exec(vmId, request, stdout, stderr));
  }

  /** A command run by the guest agent. */
  private record AgentProcess(ExecSession session) implements GuestProcess {
    @Override
    public OutputStream stdin() {
      return session.stdin();
    }

    @Override
    public int awaitExit(Duration wait) {
      try {
        return session.awaitExit(wait);
      } catch (AgentException e) {
        throw new BoxdException(ErrorCode.INTERNAL, "the command's exit code did not arrive: " + e.getMessage(), e);
      }
    }

    @Override
    public void resize(int rows, int cols) throws IOException {
      session.resize(rows, cols);
    }

    @Override
    public void close() {
      session.close();
    }
  }

  @Override
  public long upload(String vmId, String path, int mode, InputStream data) {
    return runtime.upload(vmId, path, mode, data);
  }

  @Override
  public long download(String vmId, String path, OutputStream sink) {
    return runtime.download(vmId, path, sink).size();
  }

  @Override
  public SocketChannel connect(String vmId, int port, Duration timeout) throws IOException {
    return runtime.connect(vmId, port, timeout);
  }

  @Override
  public java.nio.channels.DatagramChannel datagram(String vmId, int port) throws IOException {
    return runtime.datagram(vmId, port);
  }

  @Override
  public String sshHostKey(String vmId) {
    return runtime.sshHostKey(vmId);
  }

  @Override
  public Reconciled reconcileNow(String vmId, long index) {
    Outcome outcome = reconciler.reconcileNow(vmId, index, INDEX_WAIT);
    return new Reconciled(outcome.suspendMicros(), outcome.resumeMicros());
  }

  @Override
  public void reconcileSnapshotsNow(long index) {
    reconciler.reconcileSnapshotsNow(index, INDEX_WAIT);
  }

  @Override
  public OptionalLong pauseAheadOfLog(String vmId) {
    return micros(runtime.pauseAheadOfLog(vmId));
  }

  @Override
  public OptionalLong resumeAheadOfLog(String vmId) {
    return micros(runtime.resumeAheadOfLog(vmId));
  }

  private static OptionalLong micros(Optional<PauseTiming> timing) {
    return timing.map(t -> OptionalLong.of(t.micros())).orElse(OptionalLong.empty());
  }

  @Override
  public void recorded(String vmId) {
    runtime.aheadOfLogRecorded(vmId);
  }

  @Override
  public EgressTraffic egressTraffic(String vmId) {
    return runtime.egressTraffic(vmId);
  }

  @Override
  public boolean hasImage(String name) {
    return runtime.hasImage(name);
  }

  @Override
  public void wake(String vmId) {
    idle.wakeForTraffic(vmId);
  }
}
