package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.BOOT_TIMEOUT;
import static dev.boxd.worker.runtime.VmQemu.machine;
import static dev.boxd.worker.runtime.VmQemu.nic;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.ExecRequest;
import java.time.Duration;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM's power: stopping it (the guest powers off, its disk kept), cold-booting it from its disk
 * (start, reboot), and destroying it with everything it has on this host. Sleep and wake are
 * {@link SleepAndWake}'s.
 */
final class Power {
  private static final Logger log = LoggerFactory.getLogger(Power.class);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);

  private final VmTable vms;
  private final VmQemu qemus;
  private final WakeOnTraffic wakeOnTraffic;
  private final QemuDriver driver;
  private final HostNetwork network;
  private final DiskLayers layers;
  private final Function<MachineShape, Golden> goldens;

  /** {@code goldens} gives the current golden of a shape, built if there is none yet: a cold boot's memory is backed by its RAM file. */
  Power(VmTable vms, VmQemu qemus, WakeOnTraffic wakeOnTraffic, QemuDriver driver, HostNetwork network, DiskLayers layers,
      Function<MachineShape, Golden> goldens) {
    this.vms = vms;
    this.qemus = qemus;
    this.wakeOnTraffic = wakeOnTraffic;
    this.driver = driver;
    this.network = network;
    this.layers = layers;
    this.goldens = goldens;
  }

  /** {@link VmRuntime#stop}: a hibernated VM loses its saved memory, a running one powers off. */
  void stop(String vmId) {
    vms.lockedRun(vmId, vm -> {
      if (vm.state == VmState.STOPPED) {
        return;
      }
      vm.record = vm.record.withPowered(false);
      vm.files.write(vm.record);
      if (vm.state == VmState.HIBERNATED) {
        wakeOnTraffic.disarm(vm);
        dev.boxd.os.Trees.delete(vm.files.hibernation()); // the saved memory is what stop discards
      } else {
        powerOff(vm);
      }
      vms.setState(vm, VmState.STOPPED, null);
    });
  }

  // Graceful first: the guest flushes and powers off; QEMU exits on its own. Then force.
  private void powerOff(ManagedVm vm) {
    QemuVm qemu = vm.qemu;
    if (qemu == null || !qemu.isAlive()) {
      return;
    }
    vm.expectingExit = true;
    if (vm.state == VmState.STANDBY) {
      qemu.resume();
    }
    try {
      AgentClient agent = qemu.agent(Duration.ofSeconds(5));
      agent.run(ExecRequest.of("sync; systemctl --no-block poweroff").asUser("root"), Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      log.info("VM {}: graceful power-off not possible ({}), killing QEMU", vm.record.id(), e.getMessage());
    }
    qemu.awaitExitOrKill(STOP_GRACE);
    qemu.close();
    vm.qemu = null;
  }

  /** {@link VmRuntime#start}: a cold boot; a failed VM started again counts the restart and keeps the last reason. */
  VmInfo start(String vmId) {
    return vms.locked(vmId, vm -> {
      if (vm.state == VmState.RUNNING || vm.state == VmState.STANDBY) {
        return vm.info();
      }
      if (vm.state == VmState.FAILED) {
        vm.restarts++;
        vm.lastFailure = vm.failure;
      }
      return boot(vm);
    });
  }

  // Whatever fails after BOOTING leaves the VM FAILED with the reason, never BOOTING for ever:
  // the planner waits for a VM that is booting, and a start that finds it so would report success.
  private VmInfo boot(ManagedVm vm) {
    wakeOnTraffic.disarm(vm); // QEMU must be the tap's only holder
    dev.boxd.os.Trees.delete(vm.files.hibernation()); // a cold boot discards any saved memory
    vm.record = vm.record.withPowered(true).withPending(VmDirectory.Pending.IDENTITY);
    vm.files.write(vm.record);
    vms.setState(vm, VmState.BOOTING, null);
    QemuVm qemu = null;
    try {
      Golden golden = goldens.apply(new MachineShape(vm.record.vcpus(), vm.record.memoryMib()));
      network.attach(nic(vm.record));
      qemu = driver.coldBoot(machine(vm), golden, network.namespace().enterPrefix());
      qemus.adopt(vm, qemu);
      awaitIdentity(vm, qemu);
      return vm.info();
    } catch (RuntimeException e) {
      throw bootFailed(vm, qemu, e);
    }
  }

  /** Waits for a booting guest's agent, gives the VM its identity, and marks it running. */
  void awaitIdentity(ManagedVm vm, QemuVm qemu) {
    qemu.agent(BOOT_TIMEOUT);
    qemus.giveIdentity(vm, qemu);
    qemus.finishMaking(vm);
  }

  /** A boot that failed: its QEMU ends, and the VM is FAILED with the reason and the serial console's tail, also the error returned. */
  BoxdException bootFailed(ManagedVm vm, QemuVm qemu, RuntimeException e) {
    vm.expectingExit = true;
    if (qemu != null) {
      qemu.kill();
      qemu.close();
    }
    vm.qemu = null;
    String why = e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    String reason = "boot failed: " + why + "; serial console: " + vm.files.runDir().serialTail(1500);
    vms.setState(vm, VmState.FAILED, reason);
    return new BoxdException(ErrorCode.INTERNAL, reason, e);
  }

  /** {@link VmRuntime#reboot}: the guest syncs its disk, QEMU is killed, and the VM boots cold. */
  VmInfo reboot(String vmId) {
    return vms.locked(vmId, vm -> {
      QemuVm qemu = vm.qemu;
      if (qemu != null && qemu.isAlive()) {
        vm.expectingExit = true;
        if (vm.state == VmState.STANDBY) {
          qemu.resume();
        }
        try {
          // Memory is lost on a cold restart, the disk is not: flush what the guest has cached.
          qemu.agent(Duration.ofSeconds(5)).run(ExecRequest.of("sync").asUser("root"), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
          log.info("VM {}: sync before reboot failed: {}", vmId, e.getMessage());
        }
        qemu.kill();
        qemu.close();
        vm.qemu = null;
      }
      return boot(vm);
    });
  }

  /** {@link VmRuntime#destroy}: the VM leaves the table once all it had is gone. */
  void destroy(String vmId) {
    vms.lockedRun(vmId, vm -> {
      vms.setState(vm, VmState.DESTROYING, null);
      cleanUp(vm);
      vms.remove(vmId);
    });
  }

  // Each step is safe when its part never existed, so a half-created VM is removed the same way.
  void cleanUp(ManagedVm vm) {
    wakeOnTraffic.disarm(vm);
    QemuVm qemu = vm.qemu;
    if (qemu != null) {
      vm.expectingExit = true;
      qemu.kill();
      qemu.close();
      vm.qemu = null;
    } else {
      // A QEMU may run that this runtime never attached to (recovery failed to reach it).
      vm.files.killRecordedQemu();
    }
    network.detach(nic(vm.record));
    layers.sweep(vm);
  }
}
