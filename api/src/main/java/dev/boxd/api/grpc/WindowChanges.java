package dev.boxd.api.grpc;

import dev.boxd.verbs.Operations.WindowSize;
import java.util.concurrent.Flow;

/**
 * The window changes of one exec as the {@code Tty} publisher: one subscriber, and only the latest
 * size is kept while it has asked for none (an old size is worth nothing once a newer one came).
 */
final class WindowChanges implements Flow.Publisher<WindowSize> {
  private Flow.Subscriber<? super WindowSize> subscriber;
  private long demand;
  private WindowSize pending;
  private boolean cancelled;

  @Override
  public synchronized void subscribe(Flow.Subscriber<? super WindowSize> s) {
    if (subscriber != null) {
      s.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      });
      s.onError(new IllegalStateException("the window changes of an exec have one subscriber"));
      return;
    }
    subscriber = s;
    s.onSubscribe(new Flow.Subscription() {
      @Override
      public void request(long n) {
        synchronized (WindowChanges.this) {
          demand = n <= 0 || demand + n < 0 ? Long.MAX_VALUE : demand + n;
          deliver();
        }
      }

      @Override
      public void cancel() {
        synchronized (WindowChanges.this) {
          cancelled = true;
        }
      }
    });
  }

  synchronized void offer(WindowSize size) {
    pending = size;
    deliver();
  }

  private void deliver() {
    if (subscriber != null && !cancelled && demand > 0 && pending != null) {
      WindowSize next = pending;
      pending = null;
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      subscriber.onNext(next);
    }
  }
}
