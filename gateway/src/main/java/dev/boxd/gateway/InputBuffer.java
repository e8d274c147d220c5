package dev.boxd.gateway;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A gateway client's stdin on its way to the verb, bounded by bytes: at most {@code capacity}
 * bytes wait here. A client that sends faster than the verb reads is held back by TCP (the
 * gateway stops taking its frames), not by the server's heap.
 */
final class InputBuffer {
  private final int capacity;
  private final AtomicLong gatewayTotal;
  private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
  private int held;
  private int position; // in the first chunk
  private boolean ended;
  private String abortReason;
  private boolean discarding;

  /** {@code gatewayTotal} counts the bytes every buffer of a gateway holds. */
  InputBuffer(int capacity, AtomicLong gatewayTotal) {
    this.capacity = capacity;
    this.gatewayTotal = gatewayTotal;
  }

  /**
   * Adds a chunk once there is room for it, waiting at most {@code wait}; false if no room came.
   * After {@link #discard()} or {@link #abort} chunks are dropped at once.
   */
  synchronized boolean offer(byte[] chunk, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!discarding && abortReason == null && held > 0 && held + chunk.length > capacity) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    if (discarding || abortReason != null || ended) {
      return true;
    }
    chunks.add(chunk);
    held += chunk.length;
    gatewayTotal.addAndGet(chunk.length);
    notifyAll();
    return true;
  }

  /** The client's input ended: the verb reads what is left, then the end. */
  synchronized void end() {
    ended = true;
    notifyAll();
  }

  /** The client left without ending its input: the verb's next read fails with {@code reason}. */
  synchronized void abort(String reason) {
    if (abortReason == null && !ended) {
      abortReason = reason;
    }
    ended = true;
    drop();
  }

  /** The verb is done with its input: what is held and what still comes is dropped. */
  synchronized void discard() {
    discarding = true;
    drop();
  }

  private void drop() {
    gatewayTotal.addAndGet(-held);
    held = 0;
    position = 0;
    chunks.clear();
    notifyAll();
  }

  /** Like {@link java.io.InputStream#read(byte[], int, int)}: blocks for input, -1 at the end. */
  synchronized int read(byte[] b, int off, int len) throws IOException {
    while (chunks.isEmpty()) {
      if (abortReason != null) {
        throw new IOException(abortReason);
      }
      if (ended || discarding) {
        return -1;
      }
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for input");
      }
    }
    byte[] first = chunks.getFirst();
    int n = Math.min(len, first.length - position);
    System.arraycopy(first, position, b, off, n);
    position += n;
    if (position == first.length) {
      chunks.removeFirst();
      position = 0;
    }
    held -= n;
    gatewayTotal.addAndGet(-n);
    notifyAll();
    return n;
  }
}
