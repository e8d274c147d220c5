package dev.boxd.sdk;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A streaming exec read as chunks: stdout and stderr pieces as they come, then one
 * {@link OutputChunk.Kind#EXIT} chunk. Output is asked from the server one chunk at a time as the
 * iteration takes them, so a slow reader slows the command instead of filling memory.
 * <pre>{@code
 * try (ExecStream run = boxd.machines().execStream(id, ExecOptions.of("sort"))) {
 *   run.writeStdin("b\na\n".getBytes());
 *   run.closeStdin();
 *   for (OutputChunk c : run) { ... }
 * }
 * }</pre>
 */
public final class ExecStream extends ExecSession implements Iterator<OutputChunk>, Iterable<OutputChunk> {
  private final BlockingQueue<Object> events;
  private Object next;
  private boolean ended;

  private ExecStream(ExecCall call, BlockingQueue<Object> events) {
    super(call);
    this.events = events;
  }

  static ExecStream start(Rpc rpc, String vm, ExecOptions options) {
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    ExecHandler queueing = new ExecHandler() {
      @Override
      public void onStdout(byte[] data) {
        events.add(new OutputChunk(OutputChunk.Kind.STDOUT, data, 0));
      }

      @Override
      public void onStderr(byte[] data) {
        events.add(new OutputChunk(OutputChunk.Kind.STDERR, data, 0));
      }

      @Override
      public void onExit(int exitCode) {
        events.add(new OutputChunk(OutputChunk.Kind.EXIT, new byte[0], exitCode));
      }

      @Override
      public void onError(BoxdError error) {
        events.add(error);
      }
    };
    return new ExecStream(ExecCall.start(rpc, vm, options, queueing, true), events);
  }

  @Override
  public boolean hasNext() {
    if (next == null && !ended) {
      try {
        next = events.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BoxdError(io.grpc.Status.Code.CANCELLED, "interrupted while waiting for exec output", e);
      }
    }
    return next != null;
  }

  /** The next chunk; throws the call's {@link BoxdError} if it failed. */
  @Override
  public OutputChunk next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the exec has ended: its last chunk was the exit");
    }
    Object event = next;
    next = null;
    if (event instanceof BoxdError error) {
      ended = true;
      throw error;
    }
    OutputChunk chunk = (OutputChunk) event;
    if (chunk.isExit()) {
      ended = true;
    } else {
      call.request();
    }
    return chunk;
  }

  @Override
  public Iterator<OutputChunk> iterator() {
    return this;
  }
}
