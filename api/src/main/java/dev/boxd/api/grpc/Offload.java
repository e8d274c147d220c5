package dev.boxd.api.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * Runs the blocking {@code Operations} calls of RPCs, each on a virtual thread of its own: a
 * {@code create} or an {@code exec} may block for minutes, and neither gRPC's transport threads
 * nor a call's callback executor may be held that long (a streaming call's next message is
 * delivered on the latter). Virtual threads cost no platform thread while they wait on the
 * guest; a semaphore bounds how many calls run at once, so a flood of calls is refused
 * (UNAVAILABLE, retry) instead of piling up. Cancelling a call (the client cancels, its deadline
 * passes, its connection goes) interrupts the thread, which is how {@code Operations} learns that
 * the user gave up.
 */
final class Offload {
  private final Semaphore slots;
  private final int max;

  Offload(int maxConcurrent) {
    this.max = maxConcurrent;
    this.slots = new Semaphore(maxConcurrent);
  }

  /** A thread that runs {@code body} holding a slot; call {@link Running#start} once the call's handlers are set. */
  Running prepare(String name, Runnable body) {
    return new Running(Thread.ofVirtual().name("api-" + name).unstarted(() -> {
      try {
        body.run();
      } finally {
        slots.release();
      }
    }));
  }

  /** The answer of a unary call computed off the call's threads; cancelling the call interrupts it. */
  <T> void unary(String name, StreamObserver<T> observer, Supplier<T> body) {
    var call = (ServerCallStreamObserver<T>) observer;
    Running running = prepare(name, () -> {
      T answer;
      try {
        answer = body.get();
      } catch (Throwable e) {
        if (!call.isCancelled()) {
          call.onError(ErrorStatus.exception(e));
        }
        return;
      }
      if (!call.isCancelled()) {
        call.onNext(answer);
        call.onCompleted();
      }
    });
    call.setOnCancelHandler(running::interrupt);
    if (!running.start()) {
      call.onError(busy());
    }
  }

  Status busyStatus() {
    return Status.UNAVAILABLE.withDescription("the server is running " + max + " API calls at once: retry in a moment");
  }

  io.grpc.StatusRuntimeException busy() {
    return busyStatus().asRuntimeException();
  }

  /** One call's thread: started at most once, interrupted when its call is cancelled (also before it started). */
  final class Running {
    private final Thread thread;
    private boolean started;
    private boolean interrupted;

    private Running(Thread thread) {
      this.thread = thread;
    }

    /** False when every slot is taken: the caller answers {@link #busy()}. */
    synchronized boolean start() {
      if (started) {
        throw new IllegalStateException("started twice");
      }
      if (!slots.tryAcquire()) {
        return false;
      }
      started = true;
      thread.start();
      if (interrupted) {
        thread.interrupt();
      }
      return true;
    }

    synchronized void interrupt() {
      interrupted = true;
      if (started) {
        thread.interrupt();
      }
    }
  }
}
