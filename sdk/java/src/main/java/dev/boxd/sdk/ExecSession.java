package dev.boxd.sdk;

import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A command running in a VM: its stdin to write and close, its exit to wait for. Closing the
 * session before the command ends cancels it, which kills the command's process group in the VM.
 */
public class ExecSession implements AutoCloseable {
  final ExecCall call;
  private final OutputStream stdin;

  ExecSession(ExecCall call) {
    this.call = call;
    this.stdin = new OutputStream() {
      @Override
      public void write(int b) {
        call.writeStdin(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        call.writeStdin(b, off, len);
      }

      @Override
      public void close() {
        call.closeStdin();
      }
    };
  }

  /** The command's stdin; each write goes out as it is made (it blocks while the network is behind). Closing it is {@link #closeStdin()}. */
  public OutputStream stdin() {
    return stdin;
  }

  public void writeStdin(byte[] data) {
    call.writeStdin(data, 0, data.length);
  }

  /** The command reads end-of-file; its output keeps coming. */
  public void closeStdin() {
    call.closeStdin();
  }

  /** Kills the command (its whole process group). */
  public void cancel() {
    call.cancel();
  }

  /** Waits for the command to end and gives its exit code. Throws the call's {@link BoxdError} if it failed. */
  public int awaitExit() {
    try {
      return call.exit().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdError(io.grpc.Status.Code.CANCELLED, "interrupted while waiting for an exec to end", e);
    } catch (ExecutionException e) {
      throw (BoxdError) e.getCause();
    }
  }

  /** As {@link #awaitExit()}, giving up (the command keeps running) after {@code timeout}: DEADLINE_EXCEEDED. */
  public int awaitExit(Duration timeout) {
    try {
      return call.exit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BoxdError(io.grpc.Status.Code.CANCELLED, "interrupted while waiting for an exec to end", e);
    } catch (ExecutionException e) {
      throw (BoxdError) e.getCause();
    } catch (TimeoutException e) {
      throw new BoxdError(io.grpc.Status.Code.DEADLINE_EXCEEDED, "the command did not end within " + timeout, e);
    }
  }

  public boolean isDone() {
    return call.exit().isDone();
  }

  @Override
  public void close() {
    call.cancel();
  }
}
