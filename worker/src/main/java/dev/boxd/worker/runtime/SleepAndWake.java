package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.AGENT_TIMEOUT;
import static dev.boxd.worker.runtime.VmQemu.IDENTITY_TIMEOUT;
import static dev.boxd.worker.runtime.VmQemu.followDisk;
import static dev.boxd.worker.runtime.VmQemu.goldenOf;
import static dev.boxd.worker.runtime.VmQemu.machine;
import static dev.boxd.worker.runtime.VmQemu.nic;

import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM asleep and woken: standby (frozen in RAM), hibernation (memory saved to its directory, no
 * QEMU), and waking from either, by request or for inbound traffic ahead of the log. While it
 * sleeps, {@link WakeOnTraffic} watches its tap; awake, its clock is set right. A pause or resume
 * done ahead of the log (a user's, or for traffic) marks the VM until the log has it, so the
 * planner does not undo it meanwhile.
 */
final class SleepAndWake {
  private static final Logger log = LoggerFactory.getLogger(SleepAndWake.class);
  /** A guest frozen for less than this keeps its clock: the error is below what anyone could notice. */
  private static final Duration CLOCK_TOLERANCE = Duration.ofMillis(20);

  private final VmTable vms;
  private final VmQemu qemus;
  private final WakeOnTraffic wakeOnTraffic;
  private final QemuDriver driver;
  private final HostNetwork network;

  SleepAndWake(VmTable vms, VmQemu qemus, WakeOnTraffic wakeOnTraffic, QemuDriver driver, HostNetwork network) {
    this.vms = vms;
    this.qemus = qemus;
    this.wakeOnTraffic = wakeOnTraffic;
    this.driver = driver;
    this.network = network;
  }

  /** {@link VmRuntime#pause}: freezes a running VM in RAM and watches its tap; a VM in standby already stays so. */
  PauseTiming pause(String vmId) {
    return vms.locked(vmId, Set.of(VmState.STANDBY, VmState.RUNNING), ", not running", vm -> {
      if (vm.state == VmState.STANDBY) {
        return new PauseTiming(0);
      }
      wakeOnTraffic.arm(vm, false);
      vm.aheadOfLogSince = 0;
      long t0 = System.nanoTime();
      vm.qemu.pause();
      long micros = (System.nanoTime() - t0) / 1000;
      vm.pausedAtNanos = System.nanoTime();
      vms.setState(vm, VmState.STANDBY, null);
      return new PauseTiming(micros);
    });
  }

  /** {@link VmRuntime#resume}: continues a VM in standby, or wakes a hibernated one; its clock is set right. */
  PauseTiming resume(String vmId) {
    return vms.locked(vmId, Set.of(VmState.RUNNING, VmState.HIBERNATED, VmState.STANDBY), ", not paused", vm -> {
      if (vm.state == VmState.RUNNING) {
        return new PauseTiming(0);
      }
      if (vm.state == VmState.HIBERNATED) {
        return wakeFromHibernation(vm);
      }
      long t0 = System.nanoTime();
      QemuVm qemu = vm.qemu;
      qemu.resume();
      // The tap watch of a standby VM only listens: let it go without waiting for its thread.
      var watch = vm.wakeWatch;
      vm.wakeWatch = null;
      if (watch != null) {
        Thread.ofVirtual().start(watch::close);
      }
      long micros = (System.nanoTime() - t0) / 1000;
      vms.setState(vm, VmState.RUNNING, null);
      if (Duration.ofNanos(t0 - vm.pausedAtNanos).compareTo(CLOCK_TOLERANCE) < 0) {
        return new PauseTiming(micros); // frozen too briefly for the guest clock to be noticeably behind
      }
      // The guest clock stood still while frozen; correct it without holding up the resume.
      Thread.ofVirtual().start(() -> {
        try {
          qemu.agent(AGENT_TIMEOUT).setTime(Instant.now(), IDENTITY_TIMEOUT);
        } catch (RuntimeException e) {
          log.warn("VM {}: setting the clock after resume failed: {}", vmId, e.getMessage());
        }
      });
      return new PauseTiming(micros);
    });
  }

  /** {@link VmRuntime#pauseAheadOfLog}: freezes a running VM at once, marked ahead of the log until the log has it. */
  Optional<PauseTiming> pauseAheadOfLog(String vmId) {
    return vms.locked(vmId, vm -> {
      if (vm.state == VmState.STANDBY) {
        return Optional.of(new PauseTiming(0));
      }
      if (vm.state != VmState.RUNNING) {
        return Optional.empty();
      }
      PauseTiming timing = pause(vmId);
      vm.aheadOfLogSince = System.nanoTime();
      return Optional.of(timing);
    });
  }

  /** {@link VmRuntime#resumeAheadOfLog}: continues a VM in standby at once, marked ahead of the log until the log has it. */
  Optional<PauseTiming> resumeAheadOfLog(String vmId) {
    return vms.locked(vmId, vm -> {
      if (vm.state == VmState.RUNNING) {
        return Optional.of(new PauseTiming(0));
      }
      if (vm.state != VmState.STANDBY) {
        return Optional.empty();
      }
      PauseTiming timing = resume(vmId);
      vm.aheadOfLogSince = System.nanoTime();
      return Optional.of(timing);
    });
  }

  /** {@link VmRuntime#aheadOfLogRecorded}: the VM follows the log again. */
  void aheadOfLogRecorded(String vmId) {
    vms.get(vmId).aheadOfLogSince = 0;
  }

  /** {@link VmRuntime#hibernate}: saves a running or paused VM into its directory and ends its QEMU. */
  VmInfo hibernate(String vmId) {
    String refusal = ": only a running or paused VM can hibernate";
    return vms.locked(vmId, Set.of(VmState.HIBERNATED, VmState.RUNNING, VmState.STANDBY), refusal, vm -> {
      if (vm.state == VmState.HIBERNATED) {
        return vm.info();
      }
      if (vm.qemu == null) {
        throw VmTable.refused(vm, refusal);
      }
      long t0 = System.nanoTime();
      Path dir = vm.files.hibernation();
      dev.boxd.os.Trees.delete(dir); // a save that never completed
      QemuVm qemu = vm.qemu;
      Path newTop = vm.files.newTopLayer();
      try {
        driver.save(qemu, goldenOf(vm.record), dir, newTop, true);
      } finally {
        followDisk(vm);
      }
      long saved = System.nanoTime();
      vm.expectingExit = true;
      qemu.kill();
      qemu.awaitExitOrKill(Duration.ofSeconds(10)); // its tap is free only once the process is gone
      qemu.close();
      vm.qemu = null;
      wakeOnTraffic.arm(vm, true);
      vms.setState(vm, VmState.HIBERNATED, null);
      log.info("VM {} hibernated in {} ms (save {} ms)", vmId, (System.nanoTime() - t0) / 1_000_000, (saved - t0) / 1_000_000);
      return vm.info();
    });
  }

  // Memory, devices and processes come back from the VM's directory; the clock is set at once.
  private PauseTiming wakeFromHibernation(ManagedVm vm) {
    long t0 = System.nanoTime();
    network.attach(nic(vm.record));
    List<byte[]> waiting = wakeOnTraffic.disarm(vm); // QEMU must be the tap's only holder
    QemuVm qemu = driver.restoreFrom(vm.files.hibernation(), machine(vm), goldenOf(vm.record), network.namespace().enterPrefix());
    qemus.adopt(vm, qemu);
    network.deliver(nic(vm.record), waiting); // the frames that woke it, answered instead of retransmitted
    try {
      qemu.agent(AGENT_TIMEOUT).setTime(Instant.now(), IDENTITY_TIMEOUT);
    } catch (RuntimeException e) {
      log.warn("VM {}: setting the clock after waking from hibernation failed: {}", vm.record.id(), e.getMessage());
    }
    dev.boxd.os.Trees.delete(vm.files.hibernation());
    long micros = (System.nanoTime() - t0) / 1000;
    vms.setState(vm, VmState.RUNNING, null);
    log.info("VM {} woke from hibernation in {} ms", vm.record.id(), micros / 1000);
    return new PauseTiming(micros);
  }

  /** {@link VmRuntime#inboundActivity}: frames on its tap and data-plane sessions, for idle detection. */
  InboundActivity inboundActivity(String vmId) {
    ManagedVm vm = vms.get(vmId);
    return new InboundActivity(network.inboundFrames(nic(vm.record)), vm.sessionsStarted.get(), vm.sessionsOpen.get());
  }
}
