package dev.boxd.vmm.agent;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A running command in the guest. Output is written to the sinks given at start, on the agent
 * reader thread; {@link #exitCode()} completes after all output was delivered. Closing the session
 * before the command ended kills its process group.
 */
public final class ExecSession extends AgentChannel implements Closeable {
  private final OutputStream stdout;
  private final OutputStream stderr;
  private final OutputStream stdin = dataOut();
  private final CompletableFuture<Integer> started = new CompletableFuture<>();
  private final CompletableFuture<Integer> exit = new CompletableFuture<>();
  private volatile boolean sinkBroken;

  ExecSession(AgentClient client, int id, OutputStream stdout, OutputStream stderr) {
    super(client, id);
    this.stdout = stdout;
    this.stderr = stderr;
  }

  void awaitStarted() {
    try {
      started.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (e.getCause() instanceof AgentException a) ? a : new AgentException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new AgentException("the guest agent did not start the command within 60 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AgentException("interrupted", e);
    }
  }

  /** Guest process id of the shell running the command. */
  public int pid() {
    return started.join();
  }

  /** The command's stdin; close it to send end-of-file. */
  public OutputStream stdin() {
    return stdin;
  }

  public CompletableFuture<Integer> exitCode() {
    return exit;
  }

  /** Waits for the exit code; on timeout throws {@link AgentException}. */
  public int awaitExit(Duration wait) {
    try {
      return exit.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw (e.getCause() instanceof AgentException a) ? a : new AgentException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new AgentException("command did not finish within " + wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AgentException("interrupted", e);
    }
  }

  public void resize(int rows, int cols) throws IOException {
    sendControl(Frame.RESIZE, ByteBuffer.allocate(4).putShort((short) rows).putShort((short) cols).array());
  }

  public void signal(int signal) throws IOException {
    sendControl(Frame.SIGNAL, new byte[] {(byte) signal});
  }

  @Override
  void handle(Frame frame) {
    switch (frame.type()) {
      case Frame.STARTED -> started.complete(frame.i32());
      case Frame.OUT -> deliver(stdout, frame.payload());
      case Frame.ERR -> deliver(stderr, frame.payload());
      case Frame.EXIT -> {
        flush(stdout);
        flush(stderr);
        client().finished(this);
        exit.complete(frame.i32());
      }
      default -> { }
    }
  }

  // A consumer that went away (client disconnected) must not stall the connection: kill the
  // command and drop its remaining output.
  private void deliver(OutputStream sink, byte[] data) {
    if (sinkBroken) {
      return;
    }
    try {
      sink.write(data);
    } catch (IOException e) {
      sinkBroken = true;
      abort();
    }
  }

  private void flush(OutputStream sink) {
    try {
      sink.flush();
    } catch (IOException ignored) {
      sinkBroken = true;
    }
  }

  @Override
  void failed(AgentException e) {
    started.completeExceptionally(e);
    exit.completeExceptionally(e);
  }

  @Override
  public void close() {
    if (started.isDone() && !started.isCompletedExceptionally() && !exit.isDone()) {
      try {
        signal(SIGKILL);
      } catch (IOException ignored) {
        // the connection is gone; so is the command's output
      }
    }
  }
}
