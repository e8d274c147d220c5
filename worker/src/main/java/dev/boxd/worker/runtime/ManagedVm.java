package dev.boxd.worker.runtime;

import dev.boxd.core.net.Ipv4;
import dev.boxd.vmm.QemuVm;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A VM as the runtime holds it in memory: its files, its QEMU (if one runs) and its observed
 * state. Lifecycle operations on one VM are serialised by its lock; different VMs run in parallel.
 */
final class ManagedVm {
  final VmDirectory files;
  final ReentrantLock lock = new ReentrantLock();
  volatile VmDirectory.Record record;
  volatile QemuVm qemu;
  volatile VmState state;
  volatile String failure;
  /** Times the VM was started again after it had failed, and why it failed the last time. */
  volatile int restarts;
  volatile String lastFailure;
  /** Set while the runtime itself stops QEMU, so that exit is not reported as a failure. */
  volatile boolean expectingExit;
  /** When the VM was last frozen (System.nanoTime), to judge how far its clock fell behind. */
  volatile long pausedAtNanos;
  /**
   * When (System.nanoTime) the VM was paused or resumed ahead of the log (a user's pause or resume,
   * inbound traffic), 0 when it follows the log: until the log has the change the planner must not
   * undo it. A mark older than {@link #AHEAD_OF_LOG_LIMIT} is ignored: whoever set it is gone.
   */
  volatile long aheadOfLogSince;
  static final java.time.Duration AHEAD_OF_LOG_LIMIT = java.time.Duration.ofSeconds(30);
  /** Watches the tap for the first frame while the VM sleeps; null while it runs. */
  volatile dev.boxd.net.InboundWatch wakeWatch;
  /** Data-plane sessions (exec, copy, connect) started, and those still open: inbound activity. */
  final java.util.concurrent.atomic.AtomicLong sessionsStarted = new java.util.concurrent.atomic.AtomicLong();
  final java.util.concurrent.atomic.AtomicInteger sessionsOpen = new java.util.concurrent.atomic.AtomicInteger();

  /** Counts a session from now until the returned handle is closed. */
  SafeCloseable session() {
    sessionsStarted.incrementAndGet();
    sessionsOpen.incrementAndGet();
    var closed = new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      if (closed.compareAndSet(false, true)) {
        sessionsOpen.decrementAndGet();
      }
    };
  }

  /** An AutoCloseable that throws nothing. */
  interface SafeCloseable extends AutoCloseable {
    @Override
    void close();
  }

  ManagedVm(VmDirectory files, VmDirectory.Record record, VmState state) {
    this.files = files;
    this.record = record;
    this.state = state;
  }

  VmInfo info() {
    QemuVm q = qemu;
    Ipv4 ip = Ipv4.parse(record.ip());
    return new VmInfo(record.id(), record.name(), record.owner(), state, ip, ip.derivedMac(),
        q != null && q.isAlive() ? q.pid() : 0, Optional.ofNullable(detail()), isAheadOfLog());
  }

  boolean isAheadOfLog() {
    long since = aheadOfLogSince;
    return since != 0 && System.nanoTime() - since < AHEAD_OF_LOG_LIMIT.toNanos();
  }

  // A failed VM says why; one started again after failing says how often, and the last reason.
  private String detail() {
    if (state == VmState.FAILED) {
      return failure;
    }
    return restarts == 0 ? null : "started again after a failure (" + restarts + (restarts == 1 ? " time" : " times") + "); last failure: "
        + lastFailure;
  }
}
