package dev.boxd.worker.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.VmStatus;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.worker.runtime.VmState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Sleep and wake by traffic, driven tick by tick with a chosen clock. */
class IdleWatchTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration HIBERNATE_AFTER = Duration.ofMinutes(10);

  private final InMemoryStateStore store = new InMemoryStateStore();
  private final FakeVmRuntime runtime = new FakeVmRuntime();
  private final Reconciler reconciler = new Reconciler("w1", store, runtime, Clock.fixed(AT, ZoneOffset.UTC));
  private final IdleWatch watch = new IdleWatch("w1", store, runtime, reconciler, HIBERNATE_AFTER);

  IdleWatchTest() {
    store.apply(new Command.CreateUser("u1", "alice", AT, 10));
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
    store.apply(new Command.CreateVm("vm1", "u1", "one", 2, 1024, 10, Ipv4.parse("10.77.0.5"), Ipv4.parse("203.0.113.5"), "w1", AT));
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> store.read().vm("vm1").orElseThrow().observed().status() == VmStatus.RUNNING);
  }

  @AfterEach
  void close() {
    watch.close();
    reconciler.close();
    store.close();
  }

  @Test
  void anIdleVmGoesToStandbyAfterItsTimeoutAndNotBefore() {
    store.apply(new Command.SetAutoSuspend("vm1", 30));

    watch.tick(seconds(0));
    watch.tick(seconds(29));
    assertThat(desired()).isEqualTo(DesiredPower.RUNNING);

    watch.tick(seconds(30));
    assertThat(desired()).isEqualTo(DesiredPower.STANDBY);
    assertThat(runtime.state("vm1")).contains(VmState.STANDBY);
    assertThat(store.commands(Command.IdleSleep.class)).containsExactly(new Command.IdleSleep("vm1", "w1", DesiredPower.STANDBY));
  }

  @Test
  void inboundTrafficRestartsTheIdleClock() {
    store.apply(new Command.SetAutoSuspend("vm1", 30));

    watch.tick(seconds(0));
    runtime.frameArrived("vm1");
    watch.tick(seconds(20));
    watch.tick(seconds(45));
    assertThat(desired()).isEqualTo(DesiredPower.RUNNING);

    watch.tick(seconds(50));
    assertThat(desired()).isEqualTo(DesiredPower.STANDBY);
  }

  @Test
  void aVmWithoutAutoSuspendNeverSleeps() {
    store.apply(new Command.SetAutoSuspend("vm1", 0));

    watch.tick(seconds(0));
    watch.tick(seconds(100_000));

    assertThat(desired()).isEqualTo(DesiredPower.RUNNING);
    assertThat(store.commands(Command.IdleSleep.class)).isEmpty();
  }

  @Test
  void aVmInStandbyLongEnoughIsHibernated() {
    long index = store.apply(new Command.SetDesiredPower("vm1", DesiredPower.STANDBY)).index();
    reconciler.reconcileNow("vm1", index, WAIT);

    watch.tick(seconds(0));
    watch.tick(seconds(HIBERNATE_AFTER.toSeconds() - 1));
    assertThat(desired()).isEqualTo(DesiredPower.STANDBY);

    watch.tick(seconds(HIBERNATE_AFTER.toSeconds()));
    assertThat(desired()).isEqualTo(DesiredPower.HIBERNATED);
    assertThat(runtime.state("vm1")).contains(VmState.HIBERNATED);
  }

  @Test
  void aFrameForAVmInStandbyResumesItFirstAndRecordsTheWakeAfter() {
    long index = store.apply(new Command.SetDesiredPower("vm1", DesiredPower.STANDBY)).index();
    reconciler.reconcileNow("vm1", index, WAIT);
    watch.start();

    runtime.frameWhileAsleep("vm1");

    await().atMost(WAIT).untilAsserted(() -> assertThat(runtime.calls).contains("aheadOfLogRecorded vm1"));
    assertThat(runtime.calls).containsSubsequence("resumeAheadOfLog vm1", "aheadOfLogRecorded vm1");
    assertThat(runtime.calls).doesNotContain("resume vm1"); // already awake: the reconciler has nothing to do
    assertThat(desired()).isEqualTo(DesiredPower.RUNNING);
    assertThat(store.commands(Command.TrafficWake.class)).containsExactly(new Command.TrafficWake("vm1", "w1"));
    assertThat(runtime.state("vm1")).contains(VmState.RUNNING);
  }

  private DesiredPower desired() {
    return store.read().vm("vm1").orElseThrow().desired();
  }

  private static long seconds(long s) {
    return Duration.ofSeconds(s).toNanos();
  }
}
