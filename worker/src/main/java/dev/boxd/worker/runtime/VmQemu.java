package dev.boxd.worker.runtime;

import dev.boxd.core.net.Ipv4;
import dev.boxd.guest.GuestImage;
import dev.boxd.net.VmNic;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime's side of a VM's QEMU, shared by every operation that starts or finds one: the
 * machine a VM's record describes, taking a QEMU as the VM's (and watching it), the identity
 * given to the guest, and the disk layer QEMU writes.
 */
final class VmQemu {
  private static final Logger log = LoggerFactory.getLogger(VmQemu.class);
  static final Duration AGENT_TIMEOUT = Duration.ofSeconds(30);
  static final Duration IDENTITY_TIMEOUT = Duration.ofSeconds(30);
  static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);

  private final RuntimeConfig config;
  private final VmTable vms;

  VmQemu(RuntimeConfig config, VmTable vms) {
    this.config = config;
    this.vms = vms;
  }

  /** The QEMU machine of a VM: its name, shape, run directory, top disk layer and network card. */
  static QemuDriver.Machine machine(ManagedVm vm) {
    var r = vm.record;
    return new QemuDriver.Machine("boxd-" + r.id(), new MachineShape(r.vcpus(), r.memoryMib()), vm.files.runDir(),
        vm.files.topDisk(r), Optional.of(nic(r).tap()), nic(r).mac());
  }

  static VmNic nic(VmDirectory.Record record) {
    return VmNic.of(Ipv4.parse(record.ip()), record.owner(), record.isolated());
  }

  /** The golden (RAM template, image) a VM was made from, whatever generation that is now. */
  static Golden goldenOf(VmDirectory.Record r) {
    Path imageDir = Path.of(r.imageDir());
    return new Golden(Path.of(r.goldenDir()), new GuestImage(imageDir.getFileName().toString(), imageDir),
        new MachineShape(r.vcpus(), r.memoryMib()), Path.of(r.ramFile()));
  }

  // The identity carries the platform's public key too (the SSH gateway logs into the guest's
  // sshd as boxd with it): one request, written whole on every restore and boot.
  void giveIdentity(ManagedVm vm, QemuVm qemu) {
    AgentClient agent = qemu.agent(AGENT_TIMEOUT);
    agent.identity(GuestIdentity.of(vm.record, vm.files, config.network().subnet(), config.platformKey()), IDENTITY_TIMEOUT);
  }

  /** The VM has its own identity: from now on a crash leaves it as it is, and it runs. */
  void finishMaking(ManagedVm vm) {
    vm.record = vm.record.withPending(null);
    vm.files.write(vm.record);
    vms.setState(vm, VmState.RUNNING, null);
  }

  // Watch a QEMU: an exit the runtime did not ask for is a failure; a guest-initiated reset
  // (reboot inside the VM) loses the identity, which is given again once the agent is back.
  void adopt(ManagedVm vm, QemuVm qemu) {
    vm.qemu = qemu;
    vm.expectingExit = false;
    qemu.exited().thenRun(() -> {
      if (vm.qemu == qemu && !vm.expectingExit) {
        String reason = "QEMU (pid " + qemu.pid() + ") exited unexpectedly: " + qemu.runDir().qemuLogTail(500).strip();
        log.warn("VM {}: {}", vm.record.id(), reason);
        vms.setState(vm, VmState.FAILED, reason);
      }
    });
    qemu.onEvent(event -> {
      if ("RESET".equals(event.path("event").asText()) && event.path("data").path("guest").asBoolean()) {
        // The guest rebooted itself: a fresh agent will wait for a HELLO on a new connection.
        qemu.dropAgent();
        Thread.ofVirtual().start(() -> {
          try {
            qemu.agent(BOOT_TIMEOUT);
            giveIdentity(vm, qemu);
          } catch (RuntimeException e) {
            log.warn("VM {}: identity after guest reboot failed: {}", vm.record.id(), e.getMessage());
          }
        });
      }
    });
  }

  /**
   * Records the layer a VM's QEMU writes now: after a fork's disk snapshot it is a new file, and
   * the old top joins the frozen layers. Done even when the fork failed after the snapshot.
   */
  static void followDisk(ManagedVm vm) {
    QemuVm qemu = vm.qemu;
    if (qemu == null || !qemu.isAlive()) {
      return;
    }
    Path active = qemu.activeDisk();
    Path recorded = vm.files.topDisk(vm.record);
    if (!active.equals(recorded)) {
      List<String> layers = new ArrayList<>();
      layers.add(recorded.toString());
      layers.addAll(vm.record.layers());
      vm.record = vm.record.withDisk(active, layers);
      vm.files.write(vm.record);
    }
  }
}
