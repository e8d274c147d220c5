package dev.boxd.worker.reconcile;

import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.worker.runtime.InboundActivity;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmRuntime;
import dev.boxd.worker.runtime.VmState;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sleep and wake by traffic, for the VMs of one worker (SPEC §4). Once a second it looks at every
 * running VM with auto-suspend on: a VM that received nothing (no frame, no exec or copy) for its
 * timeout is put to standby; a VM in standby for {@code hibernateAfter} is hibernated. Both are
 * written to the log ({@code IdleSleep}), so a user's word in between wins and every replica
 * shows it. The runtime watches a sleeping VM's tap; its first inbound frame writes
 * {@code TrafficWake} and reconciles the VM at once. The frame waits in the tap (standby), or is
 * kept and handed to the restored VM (hibernation), and is then answered: the caller cannot tell.
 */
public final class IdleWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IdleWatch.class);
  private static final Duration TICK = Duration.ofSeconds(1);
  private static final Duration RECONCILE_TIMEOUT = Duration.ofSeconds(60);

  private final String workerId;
  private final StateStore store;
  private final VmRuntime runtime;
  private final Reconciler reconciler;
  private final Duration hibernateAfter;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("idle-watch").daemon().factory());

  /** Per VM: the activity last seen and when it last changed (System.nanoTime). */
  private record Seen(InboundActivity activity, long changedAt) {}

  private final Map<String, Seen> seen = new HashMap<>();
  /** When each VM was first seen asleep in standby (System.nanoTime). */
  private final Map<String, Long> standbySince = new HashMap<>();

  public IdleWatch(String workerId, StateStore store, VmRuntime runtime, Reconciler reconciler, Duration hibernateAfter) {
    this.workerId = workerId;
    this.store = store;
    this.runtime = runtime;
    this.reconciler = reconciler;
    this.hibernateAfter = hibernateAfter;
  }

  public IdleWatch start() {
    runtime.onInboundWhileAsleep(vmId -> Thread.ofVirtual().name("wake-" + vmId).start(() -> wakeForTraffic(vmId)));
    ticker.scheduleWithFixedDelay(this::tickSafely, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  private void tickSafely() {
    try {
      tick(System.nanoTime());
    } catch (RuntimeException e) {
      log.warn("idle watch: {}", e.toString());
    }
  }

  // One look at every VM of this worker; runs on the ticker thread only.
  void tick(long now) {
    Set<String> present = new HashSet<>();
    for (Vm vm : store.read().vmsOnWorker(workerId)) {
      present.add(vm.id());
      VmInfo local;
      try {
        local = runtime.info(vm.id());
      } catch (RuntimeException e) {
        continue; // not made yet, or being removed
      }
      if (vm.desired() == DesiredPower.RUNNING && local.state() == VmState.RUNNING && vm.autoSuspendSecs() > 0) {
        suspendIfIdle(vm, now);
      } else {
        seen.remove(vm.id());
      }
      if (vm.desired() == DesiredPower.STANDBY && local.state() == VmState.STANDBY) {
        long since = standbySince.computeIfAbsent(vm.id(), id -> now);
        if (now - since >= hibernateAfter.toNanos()) {
          sleep(vm, DesiredPower.HIBERNATED, "in standby for " + hibernateAfter.toSeconds() + " s");
        }
      } else {
        standbySince.remove(vm.id());
      }
    }
    seen.keySet().retainAll(present);
    standbySince.keySet().retainAll(present);
  }

  private void suspendIfIdle(Vm vm, long now) {
    InboundActivity activity;
    try {
      activity = runtime.inboundActivity(vm.id());
    } catch (RuntimeException e) {
      return;
    }
    Seen last = seen.get(vm.id());
    if (last == null || !activity.idleSince(last.activity())) {
      seen.put(vm.id(), new Seen(activity, now));
      return;
    }
    if (now - last.changedAt() >= Duration.ofSeconds(vm.autoSuspendSecs()).toNanos()) {
      seen.remove(vm.id());
      sleep(vm, DesiredPower.STANDBY, "no inbound traffic for " + vm.autoSuspendSecs() + " s");
    }
  }

  private void sleep(Vm vm, DesiredPower power, String why) {
    Result result = store.propose(new Command.IdleSleep(vm.id(), workerId, power));
    if (result instanceof Result.Ok ok) {
      log.info("VM {} to {}: {}", vm.name(), power.name().toLowerCase(), why);
      reconciler.reconcileNow(vm.id(), ok.index(), RECONCILE_TIMEOUT);
    }
    // A rejection means the user asked for something else meanwhile: their word stands.
  }

  /**
   * Wakes a VM for inbound traffic and returns once it is awake. A VM in standby is resumed first
   * and the log told after, so the traffic is answered at once; a hibernated one is restored
   * through the log (that takes a restore anyway).
   */
  public void wakeForTraffic(String vmId) {
    long started = System.nanoTime();
    boolean resumed = runtime.resumeAheadOfLog(vmId).isPresent();
    long awake = System.nanoTime();
    Result result = store.propose(new Command.TrafficWake(vmId, workerId));
    if (resumed) {
      runtime.aheadOfLogRecorded(vmId);
    }
    // Refused (the user asked for something else meanwhile): reconciling puts it where they want it.
    long index = result instanceof Result.Ok ok ? ok.index() : store.read().appliedIndex();
    reconciler.reconcileNow(vmId, index, RECONCILE_TIMEOUT);
    log.info("VM {} woken by inbound traffic: {} in {} us, in the log and reconciled after {} us", vmId,
        resumed ? "resumed" : "woken through the log", (awake - started) / 1000, (System.nanoTime() - started) / 1000);
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
