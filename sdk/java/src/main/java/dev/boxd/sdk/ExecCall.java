package dev.boxd.sdk;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.ExecChunk;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;

/**
 * One Exec call (SPEC §8) from the client's side: the first chunk names the VM and the command,
 * stdin goes out in chunks when the transport is ready for them (so a fast writer cannot pile up
 * memory), output goes to a handler, and the exit code is a last chunk's or 0 at a clean end.
 */
final class ExecCall implements ClientResponseObserver<ExecChunk, ExecChunk> {
  static final int STDIN_CHUNK_BYTES = 1024 * 1024;

  private final ExecHandler handler;
  private final Rpc rpc;
  private final int initialRequests;
  private final CompletableFuture<Integer> exit = new CompletableFuture<>();
  private final Object lock = new Object();
  private ClientCallStreamObserver<ExecChunk> requests;
  private boolean stdinClosed;
  private int exitCode;

  /** @param initialRequests chunks to ask for before the handler asks for more; 0: ask for each as it is handled */
  ExecCall(Rpc rpc, ExecHandler handler, int initialRequests) {
    this.rpc = rpc;
    this.handler = handler;
    this.initialRequests = initialRequests;
  }

  static ExecCall start(Rpc rpc, String vm, ExecOptions options, ExecHandler handler, boolean manualFlow) {
    ExecCall call = new ExecCall(rpc, handler, manualFlow ? 1 : 0);
    var requests = rpc.async().exec(call);
    requests.onNext(options.firstChunk(vm).build());
    byte[] stdin = options.stdin();
    if (stdin != null) {
      call.writeStdin(stdin, 0, stdin.length);
    }
    return call;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ExecChunk> requestStream) {
    this.requests = requestStream;
    if (initialRequests > 0) {
      requestStream.disableAutoRequestWithInitial(initialRequests);
    }
    requestStream.setOnReadyHandler(() -> {
      synchronized (lock) {
        lock.notifyAll();
      }
    });
  }

  /** Asks for the next output chunk (manual flow only). */
  void request() {
    requests.request(1);
  }

  @Override
  public void onNext(ExecChunk chunk) {
    if (chunk.getExitCode() != 0) {
      exitCode = chunk.getExitCode();
    }
    if (!chunk.getData().isEmpty()) {
      if (chunk.getIsStderr()) {
        handler.onStderr(chunk.getData().toByteArray());
      } else {
        handler.onStdout(chunk.getData().toByteArray());
      }
    } else if (initialRequests > 0) {
      request(); // nothing for the handler to consume, so nothing would ask for the next one
    }
  }

  @Override
  public void onError(Throwable t) {
    BoxdError error = rpc.error(t);
    wake();
    exit.completeExceptionally(error);
    handler.onError(error);
  }

  @Override
  public void onCompleted() {
    wake();
    exit.complete(exitCode);
    handler.onExit(exitCode);
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  void writeStdin(byte[] data, int offset, int length) {
    int at = offset;
    int end = offset + length;
    while (at < end) {
      int n = Math.min(STDIN_CHUNK_BYTES, end - at);
      send(ExecChunk.newBuilder().setStdin(ByteString.copyFrom(data, at, n)).build());
      at += n;
    }
  }

  private void send(ExecChunk chunk) {
    synchronized (lock) {
      while (!requests.isReady() && !exit.isDone() && !stdinClosed) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BoxdError(io.grpc.Status.Code.CANCELLED, "interrupted while writing an exec's stdin", e);
        }
      }
      if (stdinClosed) {
        throw new IllegalStateException("the exec's stdin is closed: nothing more can be written to it");
      }
      if (exit.isDone()) {
        return; // the command is gone; what it did not read is dropped, as a pipe's reader would drop it
      }
      requests.onNext(chunk);
    }
  }

  /** Ends stdin (the command reads EOF); output keeps coming. Closing twice is harmless. */
  void closeStdin() {
    synchronized (lock) {
      if (stdinClosed) {
        return;
      }
      stdinClosed = true;
      if (!exit.isDone()) {
        requests.onNext(ExecChunk.newBuilder().setStdinEof(true).build());
        requests.onCompleted();
      }
    }
  }

  /** Cancels the call, which kills the command's process group in the VM. */
  void cancel() {
    if (!exit.isDone()) {
      requests.cancel("the client cancelled the exec", null);
    }
  }

  CompletableFuture<Integer> exit() {
    return exit;
  }
}
