package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.followDisk;
import static dev.boxd.worker.runtime.VmQemu.goldenOf;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.QemuDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots saved on this worker, one directory each under {@link RuntimeConfig#snapshotsDir()}
 * ({@link SnapshotFiles}): saving a VM as one, deleting one, finding one to make a VM from, and
 * removing at recovery the saves a crash left unfinished.
 */
final class SnapshotStore {
  private static final Logger log = LoggerFactory.getLogger(SnapshotStore.class);

  private final RuntimeConfig config;
  private final VmTable vms;
  private final QemuDriver driver;
  private final DiskLayers layers;

  SnapshotStore(RuntimeConfig config, VmTable vms, QemuDriver driver, DiskLayers layers) {
    this.config = config;
    this.vms = vms;
    this.driver = driver;
    this.layers = layers;
  }

  /** {@link VmRuntime#saveSnapshot}: the VM's memory, devices and disk state as snapshot {@code snapshotId}. */
  long save(String vmId, String snapshotId) {
    requireSnapshotId(snapshotId);
    SnapshotFiles snap = new SnapshotFiles(config.snapshotsDir().resolve(snapshotId));
    String refusal = ": only a running or paused VM can be saved";
    return vms.locked(vmId, Set.of(VmState.RUNNING, VmState.STANDBY), refusal, vm -> {
      if (vm.qemu == null) {
        throw VmTable.refused(vm, refusal);
      }
      if (Files.exists(snap.dir())) {
        throw new BoxdException(ErrorCode.ALREADY_EXISTS, "snapshot " + snapshotId + " already exists on this worker");
      }
      long t0 = System.nanoTime();
      Path newTop = vm.files.newTopLayer();
      try {
        Files.createDirectories(snap.dir());
        dev.boxd.vmm.SavedSnapshot saved;
        try {
          saved = driver.save(vm.qemu, goldenOf(vm.record), snap.dir(), newTop, false);
        } finally {
          followDisk(vm);
        }
        var r = vm.record;
        snap.write(new SnapshotFiles.Meta(r.id(), r.goldenDir(), r.ramFile(), r.imageDir(), r.vcpus(), r.memoryMib(), r.layers()));
        long bytes = directorySize(snap.dir());
        log.info("saved VM {} as snapshot {} in {} ms: {} MiB, VM stopped {} ms", vmId, snapshotId, (System.nanoTime() - t0) / 1_000_000,
            bytes >> 20, saved.downtime().toMillis());
        return bytes;
      } catch (IOException | RuntimeException e) {
        // Judged by the file system, not by the words of the failure (QEMU's reach us as text):
        // measured before the partial save is deleted, while the disk is still as the save left it.
        boolean diskFull = nearlyFull(snap.dir());
        dev.boxd.os.Trees.delete(snap.dir());
        String why = e.getMessage() == null ? e.toString() : e.getMessage();
        if (diskFull) {
          throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "saving VM " + vm.record.name() + " failed: the worker's disk is full");
        }
        throw e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, "saving VM " + vm.record.name() + " failed: " + why, e);
      }
    });
  }

  /** Less than this left on the file system of a save that failed: it failed for want of space. */
  private static final long FULL_BELOW_BYTES = 4L << 20;

  private static boolean nearlyFull(Path dir) {
    try {
      return Files.getFileStore(dir.getParent()).getUsableSpace() < FULL_BELOW_BYTES;
    } catch (IOException e) {
      return false;
    }
  }

  /** Deletes a snapshot's files, and the disk layers only it still read; absent is fine. */
  void delete(String snapshotId) {
    requireSnapshotId(snapshotId);
    dev.boxd.os.Trees.delete(config.snapshotsDir().resolve(snapshotId));
    layers.sweep(null);
  }

  /** The files of a snapshot saved completely here; NOT_FOUND if there is none by that id. */
  SnapshotFiles saved(String snapshotId) {
    requireSnapshotId(snapshotId);
    SnapshotFiles snap = new SnapshotFiles(config.snapshotsDir().resolve(snapshotId));
    if (!snap.complete()) {
      throw BoxdException.notFound("snapshot " + snapshotId + " is not on this worker");
    }
    return snap;
  }

  private static void requireSnapshotId(String snapshotId) {
    if (snapshotId == null || !snapshotId.matches("[a-z0-9][a-z0-9-]{0,39}")) {
      throw BoxdException.invalid("invalid snapshot id " + dev.boxd.core.Names.quote(snapshotId));
    }
  }

  private static long directorySize(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      long total = 0;
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        total += Files.size(f);
      }
      return total;
    }
  }

  // A save the supervisor's stop interrupted has no manifest: it was never acknowledged.
  void removeUnfinished() {
    for (String id : ids(false)) {
      log.warn("removing snapshot {}: its save never completed", id);
      dev.boxd.os.Trees.delete(config.snapshotsDir().resolve(id));
    }
  }

  /** Ids of the snapshots saved completely here. */
  List<String> ids() {
    return ids(true);
  }

  private List<String> ids(boolean complete) {
    if (!Files.isDirectory(config.snapshotsDir())) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(config.snapshotsDir())) {
      return dirs.filter(dir -> new SnapshotFiles(dir).complete() == complete).map(dir -> dir.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + config.snapshotsDir(), e);
    }
  }
}
