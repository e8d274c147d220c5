package dev.boxd.vmm.agent;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A PUT, GET, IDENTITY or TIME request: data one way, then DONE with a count, or ERROR. */
final class TransferChannel extends AgentChannel {
  private final OutputStream sink;
  private final CompletableFuture<Long> done = new CompletableFuture<>();
  private volatile int mode;
  private volatile IOException sinkFailure;

  TransferChannel(AgentClient client, int id, OutputStream sink) {
    super(client, id);
    this.sink = sink;
  }

  int mode() {
    return mode;
  }

  long awaitDone() {
    return awaitDone(Duration.ofDays(1));
  }

  long awaitDone(Duration wait) {
    try {
      long result = done.get(wait.toMillis(), TimeUnit.MILLISECONDS);
      if (sinkFailure != null) {
        throw new AgentException("could not write the downloaded data: " + sinkFailure.getMessage(), sinkFailure);
      }
      return result;
    } catch (ExecutionException e) {
      if (sinkFailure != null) {
        // The agent's answer to our abort: the reason is on this side.
        throw new AgentException("could not write the downloaded data: " + sinkFailure.getMessage(), sinkFailure);
      }
      throw (e.getCause() instanceof AgentException a) ? a : new AgentException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new AgentException("the guest agent did not finish within " + wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AgentException("interrupted", e);
    }
  }

  @Override
  void handle(Frame frame) {
    switch (frame.type()) {
      case Frame.META -> mode = ByteBuffer.wrap(frame.payload()).getInt();
      case Frame.OUT -> {
        if (sink != null && sinkFailure == null) {
          try {
            sink.write(frame.payload());
          } catch (IOException e) {
            // Whoever reads the download is gone: stop the guest sending the rest.
            sinkFailure = e;
            abort();
          }
        }
      }
      case Frame.DONE -> {
        if (sink != null && sinkFailure == null) {
          try {
            sink.flush();
          } catch (IOException e) {
            sinkFailure = e;
          }
        }
        client().finished(this);
        done.complete(frame.u64());
      }
      default -> { }
    }
  }

  @Override
  void failed(AgentException e) {
    done.completeExceptionally(e);
  }
}
