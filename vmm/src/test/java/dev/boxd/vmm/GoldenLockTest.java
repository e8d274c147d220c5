package dev.boxd.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two threads of one process taking one golden's lock, one through a link: the second waits, never fails. */
class GoldenLockTest {
  @TempDir
  Path dir;

  @Test
  void aSecondThreadWaitsForTheFirstInsteadOfFailing() throws Exception {
    Path base = Files.createDirectories(dir.resolve("base"));
    Path link = Files.createSymbolicLink(dir.resolve("link"), base);
    CountDownLatch firstHolds = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    Thread first = Thread.ofPlatform().start(() -> run(base, () -> {
      firstHolds.countDown();
      releaseFirst.await(10, TimeUnit.SECONDS);
    }, inside, most));
    assertThat(firstHolds.await(10, TimeUnit.SECONDS)).isTrue();
    var secondError = new java.util.concurrent.atomic.AtomicReference<Throwable>();
    Thread second = Thread.ofPlatform().start(() -> {
      try {
        run(link, () -> { }, inside, most);
      } catch (Throwable t) {
        secondError.set(t);
      }
    });
    second.join(300);
    assertThat(second.isAlive()).as("the second waits while the first holds the lock").isTrue();
    releaseFirst.countDown();
    first.join(10_000);
    second.join(10_000);
    assertThat(secondError.get()).isNull();
    assertThat(most.get()).as("never two inside at once").isEqualTo(1);
  }

  interface Step {
    void run() throws Exception;
  }

  private static void run(Path base, Step step, AtomicInteger inside, AtomicInteger most) {
    try {
      GoldenLock.holding(base, () -> {
        most.accumulateAndGet(inside.incrementAndGet(), Math::max);
        try {
          step.run();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        } finally {
          inside.decrementAndGet();
        }
        return null;
      });
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
