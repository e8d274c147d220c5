package dev.boxd.api.grpc;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Operations.ExecSpec;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Optional;

/**
 * One {@code Exec} call (SPEC §8): the first client chunk names the VM and the command and starts
 * {@code Operations.exec} on a thread of its own; later chunks are stdin ({@code stdin}, or
 * {@code data} when {@code stdin} is empty) or window changes; a half-close or {@code stdin_eof}
 * ends stdin. Output goes out as it comes, flow-controlled, stderr marked; a non-zero exit code
 * comes in a last chunk, and a clean end means 0. Cancelling the call interrupts the exec, which
 * kills the command's process group in the guest.
 */
final class ExecCall implements StreamObserver<ExecChunk> {
  static final String DEFAULT_TERM = "xterm-256color";

  private final Operations operations;
  private final ServerCallStreamObserver<ExecChunk> call;
  private final Offload offload;
  private final FlowControlledSink<ExecChunk> sink;
  private final ChunkPipe stdin;
  private final WindowChanges resizes = new WindowChanges();
  private Offload.Running running;
  private boolean stdinEnded;

  /** Made in the service method: it sets the call's handlers and asks for the first chunk. */
  ExecCall(Operations operations, ServerCallStreamObserver<ExecChunk> call, Offload offload) {
    this.operations = operations;
    this.call = call;
    this.offload = offload;
    this.sink = new FlowControlledSink<>(call);
    this.stdin = new ChunkPipe(() -> call.request(1));
    call.disableAutoRequest();
    call.setOnCancelHandler(this::cancelled);
    call.request(1);
  }

  private synchronized void cancelled() {
    stdin.fail("the exec call was cancelled");
    if (running != null) {
      running.interrupt();
    }
  }

  @Override
  public void onNext(ExecChunk chunk) {
    if (running == null) {
      start(chunk);
      return;
    }
    if (chunk.getWindowChange()) {
      resizes.offer(new WindowSize(chunk.getCols() == 0 ? 80 : chunk.getCols(), chunk.getRows() == 0 ? 24 : chunk.getRows()));
    }
    input(chunk);
  }

  private void start(ExecChunk first) {
    ExecSpec spec;
    String vm;
    try {
      vm = Requests.vm("vm_id", first.getVmId());
      spec = spec(first);
    } catch (BoxdException e) {
      sink.fail(e);
      return;
    }
    synchronized (this) {
      running = offload.prepare("exec", () -> run(vm, spec));
      if (call.isCancelled()) {
        running.interrupt();
      }
    }
    if (!running.start()) {
      sink.fail(offload.busy());
      return;
    }
    input(first);
  }

  private ExecSpec spec(ExecChunk first) {
    String command = Requests.text("command", first.getCommand());
    Optional<Duration> timeout = first.getTimeoutSecs() == 0 ? Optional.empty() : Optional.of(Duration.ofSeconds(first.getTimeoutSecs()));
    Optional<Tty> tty = Optional.empty();
    if (first.getTty()) {
      String term = first.getTerm().isEmpty() ? DEFAULT_TERM : Requests.text("term", first.getTerm());
      tty = Optional.of(new Tty(term, new WindowSize(first.getCols() == 0 ? 80 : first.getCols(), first.getRows() == 0 ? 24 : first.getRows()),
          resizes));
    }
    return new ExecSpec(command, Requests.env(first.getEnvMap()), timeout, tty);
  }

  // Stdin of a chunk, if any; otherwise the next chunk is asked for at once.
  private void input(ExecChunk chunk) {
    ByteString bytes = chunk.getStdin().isEmpty() && !chunk.getWindowChange() ? chunk.getData() : chunk.getStdin();
    if (!stdinEnded) {
      stdin.offer(bytes);
    } else {
      call.request(1); // input after its end is dropped, and the call keeps reading
    }
    if (chunk.getStdinEof()) {
      endStdin();
    }
  }

  private void endStdin() {
    if (!stdinEnded) {
      stdinEnded = true;
      stdin.end();
    }
  }

  private void run(String vm, ExecSpec spec) {
    try {
      int exit = operations.exec(vm, spec, stdin, sink.stream(ExecCall::stdout), sink.stream(ExecCall::stderr));
      sink.complete(exit == 0 ? null : ExecChunk.newBuilder().setExitCode(exit).build());
    } catch (Throwable e) {
      sink.fail(e);
    }
  }

  private static ExecChunk stdout(ByteString data) {
    return ExecChunk.newBuilder().setData(data).build();
  }

  private static ExecChunk stderr(ByteString data) {
    return ExecChunk.newBuilder().setData(data).setIsStderr(true).build();
  }

  @Override
  public void onError(Throwable t) {
    stdin.fail("the client ended the exec call"); // the cancel handler interrupts the command
  }

  @Override
  public void onCompleted() {
    if (running == null) {
      sink.fail(BoxdException.invalid("the exec call ended before its first chunk: send vm_id and command first"));
      return;
    }
    endStdin(); // a half-close: stdin's end, the output still flows
  }
}
