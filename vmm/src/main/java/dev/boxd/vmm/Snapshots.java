package dev.boxd.vmm;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.memory.GuestRamMapping;
import dev.boxd.vmm.memory.MemoryDelta;
import dev.boxd.vmm.memory.ProcessMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Saving a VM to a {@link SavedSnapshot} directory and starting a VM from one. */
final class Snapshots {
  private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(60);

  private final QemuDriver driver;

  Snapshots(QemuDriver driver) {
    this.driver = driver;
  }

  SavedSnapshot save(QemuVm vm, Golden golden, Path dir, Path newTop, boolean leaveStopped) {
    if (Files.exists(newTop)) {
      throw BoxdException.invalid("the VM's new disk layer " + newTop + " already exists: expected a new path");
    }
    boolean dirExisted = Files.exists(dir);
    Path frozen = vm.activeDisk();
    Capture.DiskMoved moved = new Capture.DiskMoved();
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(SavedSnapshot.manifest(dir));
      Disks.createOverlayOnLive(frozen, newTop, Disks.STANDARD_SIZE);
      GuestRamMapping ram = GuestRamMapping.of(vm.pid(), golden.ramFile());
      Capture.Taken taken;
      try (MemoryDelta.Reservation reservation = MemoryDelta.reserve(ram)) {
        taken = Capture.take(vm, () -> MemoryDelta.read(ram, reservation, ProcessMemory.Method.PROCESS_VM), SavedSnapshot.deviceState(dir),
            newTop, !leaveStopped, moved);
      }
      try (MemoryDelta delta = taken.delta()) {
        delta.save(SavedSnapshot.memoryDelta(dir));
        var saved = new SavedSnapshot(dir, SavedSnapshot.FORMAT, frozen, golden.ramFile(), golden.shape(), delta.bytes(),
            Duration.ofNanos(taken.wasRunning() ? taken.downtimeNanos() : 0));
        saved.writeManifest();
        return saved;
      }
    } catch (IOException | RuntimeException e) {
      if (!moved.moved) {
        DeltaFork.deleteQuietly(newTop);
      }
      if (dirExisted) {
        for (Path file : List.of(SavedSnapshot.deviceState(dir), SavedSnapshot.memoryDelta(dir), SavedSnapshot.manifest(dir))) {
          DeltaFork.deleteQuietly(file);
        }
      } else {
        dev.boxd.os.Trees.delete(dir);
      }
      String where = moved.moved ? " (the VM now writes " + newTop + " over the frozen " + frozen + ")" : "";
      throw new BoxdException(ErrorCode.INTERNAL, "saving the VM to " + dir + " failed" + where + ": " + e.getMessage(), e);
    }
  }

  QemuVm restoreFrom(Path dir, QemuDriver.Machine m, Golden golden, List<String> enterPrefix) {
    SavedSnapshot saved = SavedSnapshot.read(dir);
    if (!saved.ramFile().equals(golden.ramFile()) || !saved.shape().equals(m.shape())) {
      throw BoxdException.precondition("snapshot " + dir + " was taken over " + saved.ramFile() + " (" + saved.shape().key()
          + "), not " + golden.ramFile() + " (" + m.shape().key() + ")");
    }
    boolean diskExisted = Files.exists(m.disk());
    boolean dirExisted = Files.exists(m.runDir().dir());
    QemuVm vm = null;
    try {
      if (!diskExisted) {
        Disks.createOverlay(saved.frozenDisk(), "qcow2", m.disk(), Disks.STANDARD_SIZE);
      }
      vm = driver.launch(driver.launchOf(m, golden.image(), golden.ramFile(), false, QemuLaunch.Incoming.DEVICES_ONLY), enterPrefix);
      vm.connectAgentSocket();
      try (MemoryDelta delta = MemoryDelta.load(saved.memoryDelta())) {
        delta.writeInto(GuestRamMapping.of(vm.pid(), golden.ramFile()));
      }
      vm.loadIncoming(saved.deviceState(), false, LOAD_TIMEOUT);
      return vm;
    } catch (RuntimeException e) {
      String log = m.runDir().qemuLogTail(1500).strip();
      if (vm != null) {
        vm.kill();
        vm.close();
      }
      if (!diskExisted) {
        DeltaFork.deleteQuietly(m.disk());
      }
      DeltaFork.removeRunFiles(m.runDir(), dirExisted);
      throw new BoxdException(ErrorCode.INTERNAL, "restoring " + dir + " failed: " + e.getMessage()
          + (log.isEmpty() ? "" : "\n--- QEMU log ---\n" + log), e);
    }
  }
}
