package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.followDisk;
import static dev.boxd.worker.runtime.VmQemu.nic;

import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.QemuVm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A runtime's start on a host where VMs may already run: it re-attaches to every VM its state
 * directory knows, and finishes or undoes what a crash left half done (a VM being made, a cold
 * boot without its identity, a restore that never got its memory, an unfinished snapshot save,
 * files and disk layers no VM or snapshot uses).
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  private final RuntimeConfig config;
  private final VmTable vms;
  private final VmQemu qemus;
  private final WakeOnTraffic wakeOnTraffic;
  private final Power power;
  private final SnapshotStore snapshots;
  private final DiskLayers layers;
  private final HostNetwork network;

  Recovery(RuntimeConfig config, VmTable vms, VmQemu qemus, WakeOnTraffic wakeOnTraffic, Power power, SnapshotStore snapshots,
      DiskLayers layers, HostNetwork network) {
    this.config = config;
    this.vms = vms;
    this.qemus = qemus;
    this.wakeOnTraffic = wakeOnTraffic;
    this.power = power;
    this.snapshots = snapshots;
    this.layers = layers;
    this.network = network;
  }

  /** {@link VmRuntime#recover}; {@code warmPoolKept} says whether a warm pool runs already, which it must not. */
  List<VmInfo> recover(boolean warmPoolKept) {
    List<VmInfo> recovered = new ArrayList<>();
    if (!Files.isDirectory(config.vmsDir())) {
      return recovered;
    }
    if (warmPoolKept) {
      throw new IllegalStateException("recover() runs before keepWarm(): it removes warm VMs that no pool owns");
    }
    WarmPool.removeLeftovers(config.vmsDir(), network);
    try (Stream<Path> dirs = Files.list(config.vmsDir())) {
      for (Path dir : dirs.sorted().toList()) {
        VmDirectory files = new VmDirectory(dir);
        if (!files.exists()) {
          continue; // a directory whose record was never written: swept below
        }
        VmDirectory.Record record = files.read();
        if (record.pending() == VmDirectory.Pending.MAKE) {
          undoMaking(files, record);
          continue;
        }
        recovered.add(reattach(files, record).info());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    snapshots.removeUnfinished();
    layers.sweep(null);
    layers.removeUnusedTops();
    return recovered;
  }

  /**
   * A VM whose making a crash interrupted (before it had its identity, it is not the VM that was
   * asked for: a restore with the golden's hostname and key, or a fork child still waiting for its
   * memory): everything made for it goes, and the reconciler makes it again from the log.
   */
  private void undoMaking(VmDirectory files, VmDirectory.Record record) {
    log.warn("VM {} was being made when the supervisor stopped: removing what was made; it will be made again", record.id());
    files.killRecordedQemu();
    network.detach(nic(record));
    files.delete();
  }

  private ManagedVm reattach(VmDirectory files, VmDirectory.Record record) {
    ManagedVm vm = vms.recovered(files, record);
    network.attach(nic(record));
    Optional<QemuVm> qemu = QemuVm.attach(files.runDir());
    String status = qemu.map(QemuVm::status).orElse("");
    if (qemu.isPresent() && (status.equals("inmigrate") || status.equals("prelaunch"))) {
      // A restore (waking from hibernation) cut short: this QEMU never got the VM's memory.
      log.warn("VM {}: QEMU pid {} was still waiting for the VM's memory; ending it", record.id(), qemu.get().pid());
      qemu.get().kill();
      qemu.get().close();
      qemu = Optional.empty();
    }
    if (qemu.isPresent()) {
      qemus.adopt(vm, qemu.get());
      followDisk(vm); // a fork or save cut short may have moved the VM onto a new top layer
      if (record.pending() == VmDirectory.Pending.IDENTITY) {
        vms.setState(vm, VmState.BOOTING, null);
        finishBootInBackground(vm, qemu.get());
      } else {
        boolean paused = "paused".equals(status);
        if (paused) {
          wakeOnTraffic.arm(vm, false);
        }
        vms.setState(vm, paused ? VmState.STANDBY : VmState.RUNNING, null);
      }
      log.info("re-attached to VM {} (QEMU pid {})", record.id(), qemu.get().pid());
    } else if (!record.powered()) {
      vms.setState(vm, VmState.STOPPED, null);
    } else if (files.isHibernated()) {
      wakeOnTraffic.arm(vm, true);
      vms.setState(vm, VmState.HIBERNATED, null);
    } else {
      String qemuLog = files.runDir().qemuLogTail(500).strip();
      vms.setState(vm, VmState.FAILED, "QEMU was not running when the supervisor started" + (qemuLog.isEmpty() ? "" : ": " + qemuLog));
    }
    return vm;
  }

  // A cold boot the supervisor's stop interrupted: the guest runs its own disk, still without
  // its identity (address, keys) for this boot. Finished without holding up recovery.
  private void finishBootInBackground(ManagedVm vm, QemuVm qemu) {
    Thread.ofVirtual().name("boot-" + vm.record.id()).start(() -> {
      vm.lock.lock();
      try {
        if (vm.qemu == qemu && vm.state == VmState.BOOTING) {
          power.awaitIdentity(vm, qemu);
        }
      } catch (RuntimeException e) {
        log.warn("VM {}: {}", vm.record.id(), power.bootFailed(vm, qemu, e).getMessage());
      } finally {
        vm.lock.unlock();
      }
    });
  }
}
