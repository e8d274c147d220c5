package dev.boxd.api.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The server's side of a streamed answer, written from the thread that runs the operation. A
 * write waits until the call is ready for more (gRPC's flow control: the client reads what was
 * sent), so output is never buffered without bound, and a slow client slows the command down
 * instead. Several streams (stdout and stderr) share it; one lock keeps their messages whole and
 * in order.
 *
 * <p>Must be made in the service method itself, which is where gRPC lets a call's ready handler be set.
 */
final class FlowControlledSink<T> {
  /** gRPC's own default message limit is 4 MiB; small messages keep a slow reader's backlog small too. */
  static final int CHUNK = 32 * 1024;

  private final ServerCallStreamObserver<T> call;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition ready = lock.newCondition();
  private boolean finished;

  FlowControlledSink(ServerCallStreamObserver<T> call) {
    this.call = call;
    call.setOnReadyHandler(() -> {
      lock.lock();
      try {
        ready.signalAll();
      } finally {
        lock.unlock();
      }
    });
  }

  /** A stream whose bytes go out as messages made by {@code message}, at most {@link #CHUNK} bytes each. */
  OutputStream stream(Function<ByteString, T> message) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] bytes, int offset, int length) throws IOException {
        while (length > 0) {
          int n = Math.min(length, CHUNK);
          send(message.apply(ByteString.copyFrom(bytes, offset, n)));
          offset += n;
          length -= n;
        }
      }
    };
  }

  /** Sends one message once the client can take it; IOException once the call is gone. */
  void send(T message) throws IOException {
    lock.lock();
    try {
      // The ready handler signals under this lock, so a change after the check is never missed;
      // the timeout only rechecks a call cancelled while nothing else happened.
      while (!call.isReady()) {
        if (call.isCancelled() || finished) {
          throw new IOException("the caller is gone");
        }
        ready.await(1, TimeUnit.SECONDS);
      }
      if (call.isCancelled() || finished) {
        throw new IOException("the caller is gone");
      }
      call.onNext(message);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("the call was cancelled");
    } finally {
      lock.unlock();
    }
  }

  /** Ends the call well, after a last message if there is one; nothing once it was cancelled. */
  void complete(T last) {
    lock.lock();
    try {
      if (finished || call.isCancelled()) {
        return;
      }
      finished = true;
      if (last != null) {
        call.onNext(last);
      }
      call.onCompleted();
    } finally {
      lock.unlock();
    }
  }

  /** Ends the call with the failure's status; nothing once it was cancelled or ended. */
  void fail(Throwable failure) {
    lock.lock();
    try {
      if (finished || call.isCancelled()) {
        return;
      }
      finished = true;
      call.onError(ErrorStatus.exception(failure));
    } finally {
      lock.unlock();
    }
  }
}
