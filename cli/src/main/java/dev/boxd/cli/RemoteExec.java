package dev.boxd.cli;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

/**
 * One {@code Exec} stream (SPEC §8): the first chunk names the VM and the command; stdin follows in
 * chunks as the server is ready for them (a pump thread, so a slow VM holds the local input back
 * rather than buffering it), then {@code stdin_eof}; output is written as it arrives, which holds
 * the next chunk back until the local terminal took it. Interrupting the calling thread cancels
 * the call, which kills the command's process group in the guest.
 */
final class RemoteExec {
  private static final int STDIN_CHUNK = 32 * 1024;

  private final BoxdApiGrpc.BoxdApiStub async;
  private final String apiUrl;

  RemoteExec(BoxdApiGrpc.BoxdApiStub async, String apiUrl) {
    this.async = async;
    this.apiUrl = apiUrl;
  }

  int run(String vm, Operations.ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    var done = new CompletableFuture<Integer>();
    var ready = new Object();
    var observer = new ClientResponseObserver<ExecChunk, ExecChunk>() {
      volatile ClientCallStreamObserver<ExecChunk> requests;
      volatile int exitCode;

      @Override
      public void beforeStart(ClientCallStreamObserver<ExecChunk> requestStream) {
        requests = requestStream;
        requestStream.setOnReadyHandler(() -> {
          synchronized (ready) {
            ready.notifyAll();
          }
        });
      }

      @Override
      public void onNext(ExecChunk chunk) {
        try {
          if (!chunk.getData().isEmpty()) {
            OutputStream out = chunk.getIsStderr() ? stderr : stdout;
            chunk.getData().writeTo(out);
            out.flush();
          }
        } catch (IOException e) {
          requests.cancel("the local output is gone", e);
          done.completeExceptionally(new UncheckedIOException(e));
        }
        if (chunk.getExitCode() != 0) {
          exitCode = chunk.getExitCode();
        }
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        done.complete(exitCode);
      }
    };
    ClientCallStreamObserver<ExecChunk> requests;
    synchronized (ready) {
      async.exec(observer);
      requests = observer.requests;
      var first = ExecChunk.newBuilder().setVmId(vm).setCommand(spec.command()).putAllEnv(spec.env());
      spec.timeout().ifPresent(t -> first.setTimeoutSecs((int) Math.min(Integer.MAX_VALUE, t.toSeconds())));
      spec.tty().ifPresent(tty -> first.setTty(true).setTerm(tty.term()).setCols(tty.size().cols()).setRows(tty.size().rows()));
      requests.onNext(first.build());
    }
    Flow.Subscription[] resizes = new Flow.Subscription[1];
    spec.tty().ifPresent(tty -> tty.resizes().subscribe(new Flow.Subscriber<>() {
      @Override
      public void onSubscribe(Flow.Subscription subscription) {
        resizes[0] = subscription;
        subscription.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(Operations.WindowSize size) {
        synchronized (ready) {
          try {
            requests.onNext(ExecChunk.newBuilder().setWindowChange(true).setCols(size.cols()).setRows(size.rows()).build());
          } catch (RuntimeException e) {
            // the call ended already: nothing to resize
          }
        }
      }

      @Override
      public void onError(Throwable throwable) {}

      @Override
      public void onComplete() {}
    }));
    Thread pump = Thread.ofPlatform().daemon().name("exec-stdin").start(() -> pumpStdin(stdin, requests, ready, done));
    try {
      return done.get();
    } catch (InterruptedException e) {
      requests.cancel("interrupted", null);
      Thread.currentThread().interrupt();
      throw new BoxdException(dev.boxd.core.ErrorCode.UNAVAILABLE, "interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StatusRuntimeException s) {
        throw ApiErrors.of(s, apiUrl);
      }
      if (cause instanceof UncheckedIOException u) {
        throw u;
      }
      throw new IllegalStateException("exec failed", cause);
    } finally {
      pump.interrupt();
      if (resizes[0] != null) {
        resizes[0].cancel();
      }
    }
  }

  /** Sends stdin as the server takes it; its end is sent as stdin_eof (the call stays open for the output). */
  private static void pumpStdin(InputStream stdin, ClientCallStreamObserver<ExecChunk> requests, Object ready, CompletableFuture<Integer> done) {
    byte[] buffer = new byte[STDIN_CHUNK];
    try {
      while (!done.isDone()) {
        int n = stdin.read(buffer);
        synchronized (ready) {
          while (!requests.isReady() && !done.isDone()) {
            ready.wait(100);
          }
          if (done.isDone()) {
            return;
          }
          if (n < 0) {
            requests.onNext(ExecChunk.newBuilder().setStdinEof(true).build());
            return;
          }
          requests.onNext(ExecChunk.newBuilder().setStdin(ByteString.copyFrom(buffer, 0, n)).build());
        }
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      // The local input failed or the call ended: the command sees end of input, or is gone already.
    }
  }
}
