package dev.boxd.worker.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk layer files of one host's VMs, and which of them may go. A VM's disk is its top layer
 * over frozen layers (newest first) that forks, saves and hibernations made; a frozen layer may
 * live in another VM's directory (the VM that was forked) and is kept while any VM's chain or
 * any snapshot reads it. Deletions are serialised here, so two clean-ups never judge "in use"
 * from different moments.
 */
final class DiskLayers {
  private static final Logger log = LoggerFactory.getLogger(DiskLayers.class);

  private final RuntimeConfig config;
  private final Supplier<Collection<ManagedVm>> vms;

  DiskLayers(RuntimeConfig config, Supplier<Collection<ManagedVm>> vms) {
    this.config = config;
    this.vms = vms;
  }

  /** The frozen layers that VMs (but {@code except}, if given) and snapshots read. */
  Set<Path> inUse(ManagedVm except) {
    Set<Path> inUse = new HashSet<>();
    for (ManagedVm other : vms.get()) {
      if (other != except) {
        other.record.layers().forEach(layer -> inUse.add(Path.of(layer)));
      }
    }
    if (Files.isDirectory(config.snapshotsDir())) {
      try (Stream<Path> snapshots = Files.list(config.snapshotsDir())) {
        for (Path dir : snapshots.toList()) {
          SnapshotFiles snapshot = new SnapshotFiles(dir);
          if (snapshot.complete()) {
            snapshot.read().layers().forEach(layer -> inUse.add(Path.of(layer)));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + config.snapshotsDir(), e);
      }
    }
    return inUse;
  }

  /**
   * Deletes {@code gone}'s directory (if given) and every directory of a VM destroyed earlier,
   * except the disk layers that a live VM's chain or a snapshot still reads: those stay, in a
   * directory without {@code vm.json}, until the last VM over them is destroyed.
   */
  synchronized void sweep(ManagedVm gone) {
    Set<Path> inUse = inUse(gone);
    if (!Files.isDirectory(config.vmsDir())) {
      return;
    }
    try (Stream<Path> dirs = Files.list(config.vmsDir())) {
      for (Path dir : dirs.toList()) {
        // A warm VM's directory has pool.json until vm.json is written (a dead supervisor's
        // are removed by recovery); a VM being made is registered before its record is written.
        boolean orphan = !Files.exists(dir.resolve("vm.json")) && !Files.exists(dir.resolve(WarmPool.MARKER))
            && vms.get().stream().noneMatch(vm -> vm != gone && vm.files.dir().equals(dir));
        if ((gone == null || !dir.equals(gone.files.dir())) && !orphan) {
          continue;
        }
        if (inUse.stream().noneMatch(layer -> layer.startsWith(dir))) {
          dev.boxd.os.Trees.delete(dir);
          continue;
        }
        try (Stream<Path> entries = Files.list(dir)) {
          for (Path entry : entries.toList()) {
            if (!inUse.contains(entry)) {
              dev.boxd.os.Trees.delete(entry);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clean up " + config.vmsDir(), e);
    }
  }

  /** Deletes those of {@code layers} (merged away) that nothing reads any more, then sweeps. */
  synchronized void deleteUnused(List<Path> layers) {
    Set<Path> inUse = inUseOrTop();
    for (Path layer : layers) {
      if (!inUse.contains(layer)) {
        try {
          Files.deleteIfExists(layer);
        } catch (IOException e) {
          log.warn("cannot delete merged disk layer {}: {}", layer, e.getMessage());
        }
      }
    }
    sweep(null);
  }

  /**
   * A fork, save or hibernation makes the VM's next top layer before the disk snapshot that moves
   * the VM onto it; cut short in between, the file stays in the VM's directory, unused. Only at
   * recovery: at any other time such a file may belong to an operation under way.
   */
  synchronized void removeUnusedTops() {
    Set<Path> inUse = inUseOrTop();
    for (ManagedVm vm : vms.get()) {
      try (Stream<Path> files = Files.list(vm.files.dir())) {
        for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".qcow2")).toList()) {
          if (!inUse.contains(file)) {
            log.warn("VM {}: removing disk layer {}, which no VM or snapshot uses (left by an operation cut short)",
                vm.record.id(), file.getFileName());
            Files.deleteIfExists(file);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + vm.files.dir(), e);
      }
    }
  }

  private Set<Path> inUseOrTop() {
    Set<Path> inUse = inUse(null);
    vms.get().forEach(vm -> inUse.add(vm.files.topDisk(vm.record)));
    return inUse;
  }
}
