package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.goldenOf;

import dev.boxd.vmm.Disks;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shortens the disk chains of VMs that do not run: their private frozen layers are merged into
 * their top, and the files go once nothing reads them ({@link DiskLayers}).
 */
final class LayerMerge {
  private static final Logger log = LoggerFactory.getLogger(LayerMerge.class);

  private final VmTable vms;
  private final DiskLayers layers;

  LayerMerge(VmTable vms, DiskLayers layers) {
    this.vms = vms;
    this.layers = layers;
  }

  /**
   * Merges the frozen layers under a stopped or hibernated VM's top that no other VM or snapshot
   * reads (each fork, save and hibernation adds one) into its top, and deletes them: a chain that
   * only grows makes every read slower and keeps files no one needs. Layers that are shared stay,
   * and so does everything under them. Returns how many layers were merged.
   *
   * <p>Not while QEMU runs: a confined QEMU holds its layers through descriptors it was handed,
   * and a live {@code block-stream} then fails to take the locks it needs (measured on QEMU 7.2),
   * so a running VM's chain is merged the next time it stops or hibernates.
   */
  int merge(String vmId) {
    List<Path> merged = vms.locked(vmId, vm -> {
      if (vm.qemu != null || !(vm.state == VmState.STOPPED || vm.state == VmState.HIBERNATED)) {
        return List.of();
      }
      List<String> chain = vm.record.layers();
      Set<Path> shared = layers.inUse(vm);
      int privateLayers = 0;
      while (privateLayers < chain.size() && !shared.contains(Path.of(chain.get(privateLayers)))) {
        privateLayers++;
      }
      if (privateLayers == 0) {
        return List.of();
      }
      Path base = privateLayers < chain.size() ? Path.of(chain.get(privateLayers)) : goldenOf(vm.record).disk();
      long t0 = System.nanoTime();
      Disks.rebase(vm.files.topDisk(vm.record), base);
      vm.record = vm.record.withDisk(vm.files.topDisk(vm.record), chain.subList(privateLayers, chain.size()));
      vm.files.write(vm.record);
      log.info("VM {}: merged {} disk layers into its top in {} ms", vmId, privateLayers, (System.nanoTime() - t0) / 1_000_000);
      return chain.subList(0, privateLayers).stream().map(Path::of).toList();
    });
    if (merged.isEmpty()) {
      return 0;
    }
    layers.deleteUnused(merged);
    return merged.size();
  }

  /** Merges every VM's private layers, one VM at a time; a failure is logged and the next VM goes on. */
  void mergeAll() {
    for (ManagedVm vm : List.copyOf(vms.values())) {
      try {
        merge(vm.record.id());
      } catch (RuntimeException e) {
        log.warn("VM {}: merging its disk layers failed: {}", vm.record.id(), e.getMessage());
      }
    }
  }
}
