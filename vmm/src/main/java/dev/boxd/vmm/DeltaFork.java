package dev.boxd.vmm;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.memory.GuestRamMapping;
import dev.boxd.vmm.memory.MemoryDelta;
import dev.boxd.vmm.memory.PreCopy;
import dev.boxd.vmm.memory.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "delta fork": every VM maps the same immutable RAM template private, so a VM is the
 * template + its private pages + device state + disk. The child QEMU is launched before the
 * parent stops; while the parent is stopped only its device state, its private pages and a disk
 * snapshot are taken; the child gets the pages and the device state after the parent runs again.
 *
 * <p>With pre-copy (where writes can be tracked: QEMU started with the userfaultfd preload
 * library, see {@link QemuDriver#trackForkWrites}, or a kernel keeping soft-dirty bits), the
 * parent's private pages are
 * copied into the child while the parent still runs, and only the pages written since are read
 * while it is stopped and written after: the downtime then no longer grows with the delta. The
 * system property {@value #PRECOPY_PROPERTY} chooses: {@code auto} (the default: pre-copy where
 * writes can be tracked), {@code on} (always; without tracking every private page is read again
 * at the stop, which only moves work around: for tests) or {@code off}.
 */
final class DeltaFork {
  private static final Logger log = LoggerFactory.getLogger(DeltaFork.class);
  private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(60);
  static final String PRECOPY_PROPERTY = "boxd.fork.precopy";

  private final QemuDriver driver;

  DeltaFork(QemuDriver driver) {
    this.driver = driver;
  }

  QemuDriver.ForkResult fork(QemuVm parent, Path parentDisk, QemuDriver.Machine child, Golden golden, List<String> enterPrefix) {
    long start = System.nanoTime();
    requireAbsent(parentDisk, "the parent's new disk layer");
    requireAbsent(child.disk(), "the child's disk");
    boolean childDirExisted = Files.exists(child.runDir().dir());
    Path frozen = parent.activeDisk();
    Path devices = child.runDir().dir().resolve("fork-devices.state");
    QemuVm childVm = null;
    MemoryDelta.Reservation reservation = null;
    PreCopy precopied = null;
    Capture.DiskMoved moved = new Capture.DiskMoved();
    try {
      // Everything that costs and does not need the parent stopped happens first.
      Disks.createOverlayOnLive(frozen, parentDisk, Disks.STANDARD_SIZE);
      Disks.createOverlayOnLive(frozen, child.disk(), Disks.STANDARD_SIZE);
      childVm = driver.launch(driver.launchOf(child, golden.image(), golden.ramFile(), false, QemuLaunch.Incoming.DEVICES_ONLY),
          enterPrefix);
      childVm.connectAgentSocket();
      GuestRamMapping childRam = GuestRamMapping.of(childVm.pid(), golden.ramFile());
      GuestRamMapping parentRam = GuestRamMapping.of(parent.pid(), golden.ramFile());
      PreCopy.Tracking tracking = precopyTracking(parent.pid());
      long launched = System.nanoTime();

      Capture.Taken taken;
      if (tracking != null) {
        try (PreCopy precopy = PreCopy.start(parentRam, childRam, tracking)) {
          precopied = precopy;
          taken = Capture.take(parent, precopy::finish, devices, parentDisk, true, moved);
        }
      } else {
        reservation = MemoryDelta.reserve(parentRam);
        MemoryDelta.Reservation r = reservation;
        taken = Capture.take(parent, () -> MemoryDelta.read(parentRam, r, ProcessMemory.Method.PROCESS_VM), devices, parentDisk, true,
            moved);
      }
      MemoryDelta delta = taken.delta();
      try {
        long stopAt = taken.stopAt();
        long contAt = taken.contAt();
        delta.writeInto(childRam);
        long writtenAt = System.nanoTime();
        childVm.loadIncoming(devices, false, LOAD_TIMEOUT);
        long runningAt = System.nanoTime();
        var timings = new QemuDriver.ForkTimings(micros(launched - start), micros(taken.stoppedAt() - stopAt),
            micros(taken.devicesAt() - taken.stoppedAt()), delta.scanMicros(), delta.copyMicros(), micros(taken.diskAt() - taken.readAt()),
            micros(contAt - taken.diskAt()), micros(writtenAt - contAt), micros(runningAt - writtenAt),
            precopied == null ? "off" : precopied.tracking().name().toLowerCase(), precopied == null ? 0 : precopied.firstPassMicros(),
            precopied == null ? 0 : precopied.copiedBytes());
        var result = new QemuDriver.ForkResult(childVm, frozen, parentDisk, Duration.ofNanos(contAt - stopAt),
            Duration.ofNanos(runningAt - stopAt), Duration.ofNanos(runningAt - start), delta.bytes(), delta.runCount(), timings);
        log.info("forked {} into {}: parent down {} us, child running {} us after the stop, delta {} KiB in {} runs, {}",
            parent.pid(), childVm.pid(), micros(contAt - stopAt), micros(runningAt - stopAt), delta.bytes() >> 10,
            delta.runCount(), timings);
        return result;
      } finally {
        delta.close();
      }
    } catch (RuntimeException e) {
      String childLog = child.runDir().qemuLogTail(1500).strip();
      if (childVm != null) {
        childVm.kill();
        childVm.close();
      }
      deleteQuietly(child.disk());
      if (!moved.moved) {
        deleteQuietly(parentDisk);
      }
      removeRunFiles(child.runDir(), childDirExisted);
      String where = moved.moved ? " (the parent now writes " + parentDisk + " over the frozen " + frozen + ")" : "";
      throw new BoxdException(ErrorCode.INTERNAL, "fork failed" + where + ": " + e.getMessage()
          + (childLog.isEmpty() ? "" : "\n--- child QEMU log ---\n" + childLog), e);
    } finally {
      deleteQuietly(devices);
      if (reservation != null) {
        reservation.close();
      }
    }
  }

  /** The tracking a pre-copy of process {@code pid} uses, or null for no pre-copy (see the class comment). */
  static PreCopy.Tracking precopyTracking(long pid) {
    String mode = System.getProperty(PRECOPY_PROPERTY, "auto");
    return switch (mode) {
      case "off" -> null;
      case "on" -> PreCopy.bestFor(pid);
      case "auto" -> PreCopy.bestFor(pid) == PreCopy.Tracking.NONE ? null : PreCopy.bestFor(pid);
      default -> throw new IllegalArgumentException(PRECOPY_PROPERTY + " must be auto, on or off, not " + mode);
    };
  }

  /** Removes what a launch put in a run directory: the directory too, if it did not exist before. */
  static void removeRunFiles(RunDir run, boolean dirExisted) {
    if (!dirExisted) {
      dev.boxd.os.Trees.delete(run.dir());
      return;
    }
    for (Path file : List.of(run.qmpSocket(), run.qmpCommandSocket(), run.agentSocket(), run.pidFile(), run.argvFile(), run.serialLog(), run.qemuLog())) {
      deleteQuietly(file);
    }
  }

  private static void requireAbsent(Path file, String what) {
    if (Files.exists(file)) {
      throw BoxdException.invalid(what + " " + file + " already exists: expected a new path");
    }
  }

  static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", file, e.getMessage());
    }
  }

  private static long micros(long nanos) {
    return nanos / 1000;
  }
}
