package dev.boxd.worker.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmStatus;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.worker.runtime.VmState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reconciler's logic against the in-memory log and a table-of-states runtime. */
class ReconcilerTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final InMemoryStateStore store = new InMemoryStateStore();
  private final FakeVmRuntime runtime = new FakeVmRuntime();
  private final Reconciler reconciler = new Reconciler("w1", store, runtime, Clock.fixed(AT, ZoneOffset.UTC));

  ReconcilerTest() {
    store.apply(new Command.CreateUser("u1", "alice", AT, 10));
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
  }

  @AfterEach
  void close() {
    reconciler.close();
    store.close();
  }

  @Test
  void startUpReconcilesEveryVmTheLogPlacesHere() {
    place("vm1", "one", "10.77.0.5");
    place("vm2", "two", "10.77.0.6");
    place("vm3", "three", "10.77.0.7");
    store.apply(new Command.SetDesiredPower("vm3", DesiredPower.STOPPED));
    runtime.running("vm3");

    reconciler.start("10.0.0.1:7000", 8, 16384);

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(runtime.state("vm1")).contains(VmState.RUNNING);
      assertThat(runtime.state("vm2")).contains(VmState.RUNNING);
      assertThat(runtime.state("vm3")).contains(VmState.STOPPED);
      assertThat(observed("vm1")).isEqualTo(VmStatus.RUNNING);
      assertThat(observed("vm2")).isEqualTo(VmStatus.RUNNING);
      assertThat(observed("vm3")).isEqualTo(VmStatus.STOPPED);
    });
    assertThat(runtime.calls).contains("create vm1", "create vm2", "stop vm3").doesNotContain("create vm3");
    assertThat(store.commands(Command.RegisterWorker.class)).hasSize(1); // already registered: not again
  }

  @Test
  void anIsolatedVmAndItsForkAreMadeIsolatedAndAnOrdinaryOneIsNot() {
    store.apply(new Command.CreateVm("vm1", "u1", "box", 2, 1024, 10, Ipv4.parse("10.77.0.5"), Ipv4.parse("203.0.113.5"), "w1", AT, "",
        true));
    place("vm2", "plain", "10.77.0.6");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> observedOrNull("vm1") == VmStatus.RUNNING);
    store.apply(new Command.ForkVm("vm3", "vm1", "box-fork", Ipv4.parse("10.77.0.7"), Ipv4.parse("203.0.113.7"), AT));
    reconciler.reconcileNow("vm3", store.read().appliedIndex(), WAIT);

    await().atMost(WAIT).untilAsserted(() -> assertThat(runtime.specs).containsKeys("vm1", "vm2", "vm3"));
    assertThat(runtime.specs.get("vm1").isolated()).isTrue();
    assertThat(runtime.specs.get("vm3").isolated()).as("the fork").isTrue();
    assertThat(runtime.specs.get("vm2").isolated()).isFalse();
  }

  @Test
  void aVmTheLogDoesNotPlaceHereIsKeptAsUnclaimedNotDestroyed() {
    runtime.running("stray");
    reconciler.start("10.0.0.1:7000", 8, 16384);

    Outcome outcome = reconciler.reconcileNow("stray", store.read().appliedIndex(), WAIT);

    assertThat(outcome.actions()).containsExactly(new Action.Unclaimed("stray"));
    assertThat(runtime.state("stray")).contains(VmState.RUNNING);
    assertThat(runtime.calls).noneMatch(call -> call.startsWith("destroy"));
    assertThat(reconciler.unclaimed()).extracting(info -> info.id()).containsExactly("stray");
    assertThat(store.commands(Command.ReportObserved.class)).isEmpty();
  }

  @Test
  void anUnclaimedVmIsRemovedOnlyAtTheOperatorsWordAndAPlacedOneNever() {
    runtime.running("stray");
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    reconciler.reconcileNow("stray", store.read().appliedIndex(), WAIT);

    assertThatThrownBy(() -> reconciler.removeUnclaimed("vm1"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    reconciler.removeUnclaimed("stray");

    assertThat(runtime.state("stray")).isEmpty();
    assertThat(reconciler.unclaimed()).isEmpty();
  }

  @Test
  void aDestroyRemovesTheVmAndConfirmsWithRemoveVm() {
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> runtime.state("vm1").equals(Optional.of(VmState.RUNNING)));

    long index = store.apply(new Command.DestroyVm("vm1")).index();
    Outcome outcome = reconciler.reconcileNow("vm1", index, WAIT);

    // The watcher's background pass may have got there first: then this pass has nothing left to do.
    assertThat(outcome.actions()).isIn(List.of(new Action.Destroy("vm1"), new Action.ConfirmRemoved("vm1")), List.of());
    assertThat(runtime.state("vm1")).isEmpty();
    assertThat(runtime.calls).containsOnlyOnce("destroy vm1");
    assertThat(store.commands(Command.RemoveVm.class)).containsExactly(new Command.RemoveVm("vm1", "w1"));
    assertThat(store.read().vm("vm1")).isEmpty();
  }

  @Test
  void aFailedActionIsReportedWithItsReason() {
    runtime.fail("create", "no room for the disk");
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);

    await().atMost(WAIT).untilAsserted(() -> {
      Vm vm = store.read().vm("vm1").orElseThrow();
      assertThat(vm.observed().status()).isEqualTo(VmStatus.FAILED);
      assertThat(vm.observed().detail()).isEqualTo("create failed: no room for the disk");
    });
    assertThat(runtime.state("vm1")).isEmpty();
  }

  @Test
  void aPassThatDidNothingButFailThrowsInternalWithTheReason() {
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> observedOrNull("vm1") == VmStatus.RUNNING);

    runtime.fail("pause", "the guest did not answer");
    long index = store.apply(new Command.SetDesiredPower("vm1", DesiredPower.STANDBY)).index();

    assertThatThrownBy(() -> reconciler.reconcileNow("vm1", index, WAIT))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
          assertThat(e.getMessage()).isEqualTo("pause failed: the guest did not answer");
        });
  }

  @Test
  void aPauseReportsTheRuntimesOwnTiming() {
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> observedOrNull("vm1") == VmStatus.RUNNING);

    long index = store.apply(new Command.SetDesiredPower("vm1", DesiredPower.STANDBY)).index();
    Outcome outcome = reconciler.reconcileNow("vm1", index, WAIT);

    // the background pass may have paused it first; either way the timing is the runtime's
    assertThat(runtime.state("vm1")).contains(VmState.STANDBY);
    assertThat(outcome.suspendMicros()).isEqualTo(120);
  }

  @Test
  void aCrashTheRuntimeReportsIsRepairedByTheNextPass() {
    place("vm1", "one", "10.77.0.5");
    reconciler.start("10.0.0.1:7000", 8, 16384);
    await().atMost(WAIT).until(() -> observedOrNull("vm1") == VmStatus.RUNNING);

    runtime.crashed("vm1", "QEMU exited with status 1");

    await().atMost(WAIT).untilAsserted(() -> assertThat(runtime.calls).contains("start vm1"));
    await().atMost(WAIT).until(() -> observedOrNull("vm1") == VmStatus.RUNNING);
  }

  private void place(String id, String name, String ip) {
    store.apply(new Command.CreateVm(id, "u1", name, 2, 1024, 10, Ipv4.parse(ip),
        Ipv4.parse("203.0.113." + ip.substring(ip.lastIndexOf('.') + 1)), "w1", AT));
  }

  private VmStatus observed(String vmId) {
    return store.read().vm(vmId).orElseThrow().observed().status();
  }

  private VmStatus observedOrNull(String vmId) {
    return store.read().vm(vmId).map(vm -> vm.observed().status()).orElse(null);
  }
}
