package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The QEMU command line, word for word. A change here is a change to what every VM runs: check
 * whether it changes the golden (device state, RAM layout) and, if it does, bump
 * {@link QemuDriver#GOLDEN_FORMAT}. Host-only options (such as {@code merge=on}) do not.
 */
class QemuArgsTest {
  private static QemuLaunch launch(boolean ramShared, Optional<String> tap, QemuLaunch.Incoming incoming) {
    return launch(Accelerator.TCG, ramShared, tap, incoming);
  }

  private static QemuLaunch launch(Accelerator accelerator, boolean ramShared, Optional<String> tap, QemuLaunch.Incoming incoming) {
    return new QemuLaunch("vm1", accelerator, new MachineShape(2, 1024), Path.of("/img/vmlinux"), Path.of("/img/initrd"),
        "console=ttyS0", Path.of("/dev/shm/golden.ram"), ramShared, Path.of("/vms/vm1/disk.qcow2"), tap, "02:b0:00:00:00:01",
        new RunDir(Path.of("/run/vm1")), incoming, Optional.of("boxd-qemu"));
  }

  @Test
  void aForkChildsCommandLine() {
    assertThat(QemuArgs.build(launch(false, Optional.of("tap1"), QemuLaunch.Incoming.DEVICES_ONLY))).containsExactly(
        "qemu-system-x86_64", "-name", "vm1",
        "-machine", "microvm,acpi=on,rtc=on,memory-backend=mem",
        "-accel", "tcg,thread=multi,tb-size=32", "-cpu", "max", "-smp", "2", "-m", "1024M",
        "-object", "memory-backend-file,id=mem,size=1024M,mem-path=/dev/shm/golden.ram,share=off,prealloc=off,merge=on",
        "-nodefaults", "-no-user-config", "-display", "none",
        "-kernel", "/img/vmlinux", "-initrd", "/img/initrd", "-append", "console=ttyS0",
        "-chardev", "file,id=serial,path=/run/vm1/serial.log,append=on", "-serial", "chardev:serial",
        "-add-fd", "fd=3,set=1,opaque=rw:/vms/vm1/disk.qcow2", "-add-fd", "fd=4,set=1,opaque=ro:/vms/vm1/disk.qcow2",
        "-drive", "id=root,node-name=disk0,file=/dev/fdset/1,format=qcow2,if=none,cache=writeback,discard=unmap,detect-zeroes=unmap",
        "-device", "virtio-blk-device,drive=root",
        "-netdev", "tap,id=net0,ifname=tap1,script=no,downscript=no",
        "-device", "virtio-net-device,netdev=net0,mac=02:b0:00:00:00:01",
        "-device", "virtio-serial-device,max_ports=2",
        "-chardev", "socket,id=agent,path=/run/vm1/agent.sock,server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=boxd.agent",
        "-qmp", "unix:/run/vm1/qmp.sock,server=on,wait=off",
        "-qmp", "unix:/run/vm1/qmp-cmd.sock,server=on,wait=off",
        "-qmp", "unix:/run/vm1/qmp-fd.sock,server=on,wait=off",
        "-pidfile", "/run/vm1/qemu.pid",
        "-sandbox", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny",
        "-runas", "boxd-qemu",
        "-global", "migration.send-configuration=off",
        "-incoming", "defer");
  }

  @Test
  void theGoldensBootMapsItsRamSharedAndWaitsForNothing() {
    List<String> argv = QemuArgs.build(launch(true, Optional.empty(), QemuLaunch.Incoming.NONE));
    assertThat(argv).contains("memory-backend-file,id=mem,size=1024M,mem-path=/dev/shm/golden.ram,share=on,prealloc=off,merge=on",
        "hubport,id=net0,hubid=0");
    assertThat(argv).doesNotContain("-incoming", "-global");
  }

  @Test
  void onlyTcgHasATranslationCacheSize() {
    List<String> kvm = QemuArgs.build(launch(Accelerator.KVM, false, Optional.of("tap1"), QemuLaunch.Incoming.DEVICES_ONLY));
    List<String> tcg = QemuArgs.build(launch(Accelerator.TCG, false, Optional.of("tap1"), QemuLaunch.Incoming.DEVICES_ONLY));
    // The accelerator and the CPU model differ, nothing else: KVM has no translation cache to size.
    List<String> expected = new ArrayList<>(tcg);
    expected.set(tcg.indexOf("tcg,thread=multi,tb-size=32"), "kvm");
    expected.set(tcg.indexOf("max"), "host");
    assertThat(kvm).isEqualTo(expected);
  }

  @Test
  void aQemuThatKeepsItsUserMayNotChangeIdsEither() {
    QemuLaunch confined = launch(false, Optional.of("tap1"), QemuLaunch.Incoming.NONE);
    QemuLaunch asStarted = new QemuLaunch(confined.name(), confined.accelerator(), confined.shape(), confined.kernel(), confined.initrd(),
        confined.kernelArgs(), confined.ramFile(), false, confined.disk(), confined.tap(), confined.mac(), confined.runDir(),
        confined.incoming(), Optional.empty());
    List<String> argv = QemuArgs.build(asStarted);
    assertThat(argv).doesNotContain("-runas", "-add-fd");
    assertThat(argv).anyMatch(arg -> arg.startsWith("id=root,node-name=disk0,file=/vms/vm1/disk.qcow2,"));
    assertThat(argv.get(argv.indexOf("-sandbox") + 1)).isEqualTo("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
}
