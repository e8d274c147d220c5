package dev.boxd.worker.reconcile;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmRuntime;
import dev.boxd.worker.runtime.VmSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker: watches its replica for VMs placed on it and makes this host match, VM by VM,
 * through the pure {@link Planner}; writes what it observes back to the log. Level-triggered:
 * every VM is reconciled at start-up, after every log change that touches it, and after every
 * change the runtime reports. Work for one VM is serialised and coalesced (many triggers while
 * a VM is busy give one more pass); different VMs proceed in parallel.
 *
 * <p>Snapshots are desired state too: one the log holds as saving is saved in the next pass of its
 * VM (so never at the same time as a power change of that VM) and reported saved, or removed from
 * the log if the save failed; files of a snapshot the log no longer holds are deleted.
 */
public final class Reconciler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final int WORKERS = 4;

  private final String workerId;
  private final StateStore store;
  private final VmRuntime runtime;
  private final Clock clock;
  private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
  private final Set<String> queued = ConcurrentHashMap.newKeySet();
  private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
  private final Map<String, long[]> pauseTimings = new ConcurrentHashMap<>();
  private final Map<String, Vm> lastSeen = new HashMap<>();
  private final Set<String> unclaimed = ConcurrentHashMap.newKeySet();
  /** Snapshot ids of this worker in the log as last seen, to notice new saves and removals. */
  private final Set<String> snapshotsSeen = new HashSet<>();
  /** Why recent saves failed, by snapshot id, until a caller waiting on that save hears it; bounded. */
  private final Map<String, RuntimeException> saveFailures = java.util.Collections.synchronizedMap(
      new java.util.LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, RuntimeException> eldest) {
          return size() > 64;
        }
      });
  private final ExecutorService snapshotSweeper = Executors.newSingleThreadExecutor(
      r -> Thread.ofPlatform().name("snapshot-sweep").daemon().unstarted(r));
  private final AtomicBoolean sweepPending = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  public Reconciler(String workerId, StateStore store, VmRuntime runtime, Clock clock) {
    this.workerId = workerId;
    this.store = store;
    this.runtime = runtime;
    this.clock = clock;
  }

  /**
   * Re-attaches to running VMs, registers the worker, then reconciles everything and keeps watching.
   * The store must be current first (a restarted Raft node holds only its last snapshot until it
   * has applied the log after it): the plans made here would otherwise follow a stale state.
   */
  public void start(String address, int vcpus, long memoryMib) {
    runtime.recover();
    ClusterState state = store.read();
    sweepSnapshots(); // a save the log never heard of (a crash before it was asked for) goes
    if (state.worker(workerId).isEmpty()) {
      store.propose(new Command.RegisterWorker(workerId, address, vcpus, memoryMib, clock.instant())).orThrow();
    }
    runtime.observe(event -> enqueue(event.vmId()));
    store.watch(applied -> onApplied(applied.state()));
    for (int i = 0; i < WORKERS; i++) {
      threads.add(Thread.ofVirtual().name("reconcile-" + i).start(this::drain));
    }
    onApplied(store.read());
    runtime.list().forEach(vm -> enqueue(vm.id()));
  }

  /** Deletes the files of every snapshot on this worker that the log does not hold (removed, or never asked for). */
  private void sweepSnapshots() {
    synchronized (snapshotSweeper) {
      // The files first, then the log: a save finished in between was asked for before it began,
      // so the log read second holds it.
      List<String> onDisk = runtime.snapshotIds();
      Set<String> held = new HashSet<>();
      store.read().snapshots().forEach(snapshot -> held.add(snapshot.id()));
      for (String id : onDisk) {
        if (!held.contains(id)) {
          log.info("deleting snapshot {} from this worker: the log no longer holds it", id);
          runtime.deleteSnapshot(id);
        }
      }
    }
  }

  private void scheduleSweep() {
    if (!closed && sweepPending.compareAndSet(false, true)) {
      snapshotSweeper.execute(() -> {
        sweepPending.set(false);
        try {
          sweepSnapshots();
        } catch (RuntimeException e) {
          log.warn("deleting removed snapshots failed: {}", e.getMessage());
        }
      });
    }
  }

  /** Makes this worker's snapshots match the log once this replica has applied {@code index}. */
  public void reconcileSnapshotsNow(long index, Duration timeout) {
    store.readAtLeast(index, timeout);
    sweepSnapshots();
  }

  // Runs on the log's apply thread: only compare and enqueue.
  private void onApplied(ClusterState state) {
    synchronized (lastSeen) {
      Map<String, Vm> now = new HashMap<>();
      for (Vm vm : state.vmsOnWorker(workerId)) {
        now.put(vm.id(), vm);
        Vm before = lastSeen.get(vm.id());
        if (before == null || before.desired() != vm.desired() || before.rebootSeq() != vm.rebootSeq()) {
          enqueue(vm.id());
        }
      }
      for (String gone : lastSeen.keySet()) {
        if (!now.containsKey(gone)) {
          enqueue(gone);
        }
      }
      lastSeen.clear();
      lastSeen.putAll(now);
      Set<String> snapshotsNow = new HashSet<>();
      for (Snapshot snapshot : state.snapshots()) {
        if (snapshot.workerId().equals(workerId)) {
          snapshotsNow.add(snapshot.id());
          if (!snapshot.isSaved() && !snapshotsSeen.contains(snapshot.id())) {
            enqueue(snapshot.sourceVmId()); // saved in that VM's next pass
          }
        }
      }
      if (!snapshotsNow.containsAll(snapshotsSeen)) {
        scheduleSweep();
      }
      snapshotsSeen.clear();
      snapshotsSeen.addAll(snapshotsNow);
    }
  }

  private void enqueue(String vmId) {
    if (queued.add(vmId)) {
      queue.add(vmId);
    }
  }

  private void drain() {
    while (!closed) {
      String vmId;
      try {
        vmId = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      queued.remove(vmId);
      try {
        reconcile(vmId);
      } catch (RuntimeException e) {
        log.warn("reconciling VM {} failed: {}", vmId, e.getMessage());
      }
    }
  }

  /**
   * Reconciles one VM now, once this replica has applied {@code index}, and returns what it did:
   * how the control plane waits for "create", "pause" or "destroy" to have happened.
   */
  public Outcome reconcileNow(String vmId, long index, Duration timeout) {
    List<String> saves = savesRequested(store.readAtLeast(index, timeout), vmId).stream().map(Snapshot::id).toList();
    Outcome outcome = reconcile(vmId);
    for (String id : saves) {
      RuntimeException failure = saveFailures.remove(id);
      if (failure != null) {
        throw failure; // whichever pass tried the save, the caller waiting on it hears why it failed
      }
    }
    return outcome;
  }

  private List<Snapshot> savesRequested(ClusterState state, String vmId) {
    return state.snapshots().stream()
        .filter(s -> !s.isSaved() && s.sourceVmId().equals(vmId) && s.workerId().equals(workerId))
        .toList();
  }

  // Under the VM's lock. A failed save leaves nothing on disk and is removed from the log; a save
  // the log dropped meanwhile (snapshot rm) is deleted again.
  private void saveRequestedSnapshots(String vmId) {
    for (Snapshot snapshot : savesRequested(store.read(), vmId)) {
      long bytes;
      try {
        bytes = runtime.saveSnapshot(vmId, snapshot.id());
      } catch (RuntimeException e) {
        log.warn("VM {}: saving snapshot {} failed: {}", vmId, snapshot.name(), e.getMessage());
        saveFailures.put(snapshot.id(), e);
        store.propose(new Command.RemoveSnapshot(snapshot.id()));
        continue;
      }
      if (store.propose(new Command.SnapshotSaved(snapshot.id(), workerId, bytes)) instanceof Result.Rejected rejected) {
        log.info("VM {}: snapshot {} was not recorded ({}): deleting it", vmId, snapshot.name(), rejected.message());
        runtime.deleteSnapshot(snapshot.id());
      }
    }
  }

  private Outcome reconcile(String vmId) {
    ReentrantLock lock = locks.computeIfAbsent(vmId, id -> new ReentrantLock());
    lock.lock();
    try {
      ClusterState state = store.read();
      Optional<Vm> placed = state.vm(vmId).filter(vm -> vm.workerId().equals(workerId));
      Optional<VmInfo> local = localInfo(vmId);
      long rebootDone = placed.map(vm -> vm.observed().rebootSeqSeen()).orElse(0L);
      List<Action> plan = Planner.plan(placed.map(Reconciler::desired), local, rebootDone);
      if (placed.isPresent() || local.isEmpty()) {
        unclaimed.remove(vmId);
      }
      List<Action> done = new ArrayList<>();
      String failure = "";
      for (Action action : plan) {
        try {
          rebootDone = carryOut(action, rebootDone);
          done.add(action);
        } catch (RuntimeException e) {
          String why = e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
          failure = action.getClass().getSimpleName().toLowerCase() + " failed: " + why;
          log.warn("VM {}: {}", vmId, failure);
          break;
        }
      }
      long rebootSeen = rebootDone;
      String failed = failure;
      placed.ifPresent(vm -> report(vm, rebootSeen, failed));
      if (!failure.isEmpty() && placed.isPresent()) {
        reportFailure(placed.get(), failure);
      }
      saveRequestedSnapshots(vmId);
      long[] timings = pauseTimings.getOrDefault(vmId, new long[2]);
      if (!failure.isEmpty() && done.isEmpty()) {
        throw new BoxdException(ErrorCode.INTERNAL, failure);
      }
      return new Outcome(done, timings[0], timings[1]);
    } finally {
      lock.unlock();
    }
  }

  private Optional<VmInfo> localInfo(String vmId) {
    try {
      return Optional.of(runtime.info(vmId));
    } catch (BoxdException e) {
      if (e.code() == ErrorCode.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private static DesiredVm desired(Vm vm) {
    var spec = new VmSpec(vm.id(), vm.name(), vm.ownerId(), new MachineShape(vm.vcpus(), (int) vm.memoryMib()), vm.ip(),
        vm.image(), vm.isolated());
    var power = switch (vm.desired()) {
      case RUNNING -> DesiredVm.Power.RUNNING;
      case STANDBY -> DesiredVm.Power.STANDBY;
      case HIBERNATED -> DesiredVm.Power.HIBERNATED;
      case STOPPED -> DesiredVm.Power.STOPPED;
      case DESTROYED -> DesiredVm.Power.DESTROYED;
    };
    return new DesiredVm(spec, power, vm.rebootSeq(), vm.isFork() ? Optional.of(vm.forkedFrom()) : Optional.empty(),
        vm.isFromSnapshot() ? Optional.of(vm.fromSnapshot()) : Optional.empty());
  }

  private long carryOut(Action action, long rebootDone) {
    String id = action.vmId();
    switch (action) {
      case Action.Create create -> runtime.create(create.spec());
      case Action.Fork fork -> runtime.fork(fork.sourceVmId(), fork.spec());
      case Action.Restore restore -> runtime.createFromSnapshot(restore.snapshotId(), restore.spec());
      case Action.Start start -> runtime.start(id);
      case Action.Stop stop -> runtime.stop(id);
      case Action.Pause pause -> pauseTimings.computeIfAbsent(id, k -> new long[2])[0] = runtime.pause(id).micros();
      case Action.Resume resume -> pauseTimings.computeIfAbsent(id, k -> new long[2])[1] = runtime.resume(id).micros();
      case Action.Hibernate hibernate -> runtime.hibernate(id);
      case Action.Reboot reboot -> {
        runtime.reboot(id);
        return reboot.rebootSeq();
      }
      case Action.Destroy destroy -> {
        runtime.destroy(id);
        pauseTimings.remove(id);
      }
      case Action.ConfirmRemoved removed -> store.propose(new Command.RemoveVm(id, workerId));
      case Action.Unclaimed unclaimed -> {
        if (this.unclaimed.add(id)) {
          log.warn("VM {} runs on this worker but the log does not place it here: kept as it is (QEMU pid {}, files in the"
              + " worker's vms/ directory); `boxd admin unclaimed` lists such VMs", id, runtime.info(id).pid());
        }
      }
    }
    return rebootDone;
  }

  // One writer per field: only this worker reports what it observes, and only when it changed.
  // A VM that is not running says why: its runtime's reason, else what failed in this pass.
  private void report(Vm vm, long rebootDone, String failedNow) {
    Optional<VmInfo> local = localInfo(vm.id());
    if (local.isEmpty()) {
      return; // destroyed, or never created: nothing to observe
    }
    VmInfo info = local.get();
    VmStatus status = VmStatus.valueOf(info.state().name());
    String detail = info.failure().orElse(status == VmStatus.RUNNING ? "" : failedNow);
    VmObserved before = store.read().vm(vm.id()).map(Vm::observed).orElse(vm.observed());
    if (before.status() == status && before.pid() == info.pid() && before.detail().equals(detail) && before.rebootSeqSeen() == rebootDone) {
      return;
    }
    store.propose(new Command.ReportObserved(vm.id(), workerId, new VmObserved(status, info.pid(), detail, clock.instant(), rebootDone)));
  }

  private void reportFailure(Vm vm, String detail) {
    VmObserved before = store.read().vm(vm.id()).map(Vm::observed).orElse(vm.observed());
    if (localInfo(vm.id()).isEmpty()) {
      store.propose(new Command.ReportObserved(vm.id(), workerId,
          new VmObserved(VmStatus.FAILED, 0, detail, clock.instant(), before.rebootSeqSeen())));
    }
  }

  /** Ends an unclaimed VM and deletes its files, at the operator's word; refuses a VM the log places here. */
  public void removeUnclaimed(String vmId) {
    ReentrantLock lock = locks.computeIfAbsent(vmId, id -> new ReentrantLock());
    lock.lock();
    try {
      if (!unclaimed.contains(vmId) || store.read().vm(vmId).filter(vm -> vm.workerId().equals(workerId)).isPresent()) {
        throw BoxdException.notFound("no unclaimed VM " + dev.boxd.core.Names.quote(vmId) + " on this worker (see: boxd admin unclaimed)");
      }
      runtime.destroy(vmId);
      unclaimed.remove(vmId);
      log.warn("removed unclaimed VM {} at the operator's request", vmId);
    } finally {
      lock.unlock();
    }
  }

  /** VMs this host runs that the log does not place here: kept, reported, left to the operator. */
  public List<VmInfo> unclaimed() {
    return unclaimed.stream().map(this::localInfo).flatMap(Optional::stream).sorted(java.util.Comparator.comparing(VmInfo::id)).toList();
  }

  @Override
  public void close() {
    closed = true;
    threads.forEach(Thread::interrupt);
    snapshotSweeper.shutdownNow();
  }
}
