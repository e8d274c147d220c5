package dev.boxd.vmm;

import dev.boxd.vmm.memory.MemoryDelta;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of a fork or a saved snapshot that needs the VM stopped, kept as short as it can be:
 * stop, device state to a file, the RAM pages the caller reads (all private pages into a reserved
 * buffer, or what changed since a pre-copy), disk snapshot, cont.
 * Whatever fails, a VM that was running runs again.
 */
final class Capture {
  private static final Logger log = LoggerFactory.getLogger(Capture.class);

  /** What was taken, and when each step ended ({@link System#nanoTime}). */
  record Taken(MemoryDelta delta, boolean wasRunning, long stopAt, long stoppedAt, long devicesAt, long readAt, long diskAt,
      long contAt) {
    long downtimeNanos() {
      return contAt - stopAt;
    }
  }

  /** Tells the caller whether the disk moved to the new top even when the capture then failed. */
  static final class DiskMoved {
    volatile boolean moved;
  }

  private Capture() {}

  /**
   * @param readMemory reads the VM's RAM pages while it is stopped
   * @param newTop an existing empty overlay over the VM's current top, which the VM writes from now on
   * @param resume whether a running VM is continued afterwards (a VM that was paused stays paused)
   */
  static Taken take(QemuVm vm, Supplier<MemoryDelta> readMemory, Path devices, Path newTop,
      boolean resume, DiskMoved diskMoved) {
    boolean wasRunning = "running".equals(vm.status());
    boolean stopped = false;
    MemoryDelta delta = null;
    long stopAt = System.nanoTime();
    try {
      // A confined QEMU gets these files handed over; done before the stop, it costs no downtime.
      vm.prepareCapture(devices, newTop);
      stopAt = System.nanoTime();
      if (wasRunning) {
        vm.pause();
        stopped = true;
      }
      long stoppedAt = System.nanoTime();
      vm.saveDeviceState(devices);
      long devicesAt = System.nanoTime();
      delta = readMemory.get();
      long readAt = System.nanoTime();
      vm.snapshotDisk(newTop);
      diskMoved.moved = true;
      long diskAt = System.nanoTime();
      if (stopped && resume) {
        vm.resume();
        stopped = false;
      }
      Taken taken = new Taken(delta, wasRunning, stopAt, stoppedAt, devicesAt, readAt, diskAt, System.nanoTime());
      vm.releaseSpentFiles();
      return taken;
    } catch (RuntimeException | Error e) {
      if (delta != null) {
        delta.close();
      }
      if (stopped) {
        try {
          vm.resume();
        } catch (RuntimeException again) {
          log.error("cannot resume QEMU {} after a failed capture: {}", vm.pid(), again.getMessage());
          e.addSuppressed(again);
        }
      }
      try {
        vm.releaseSpentFiles();
      } catch (RuntimeException again) {
        e.addSuppressed(again);
      }
      throw e;
    }
  }
}
