package dev.boxd.vmm;

import java.util.ArrayList;
import java.util.List;

/** The QEMU command line for a launch: a pure function, golden-tested. */
public final class QemuArgs {
  public static final String BINARY = "qemu-system-x86_64";
  /** The block device name of the VM's disk, as QMP commands address it. */
  public static final String DISK_DEVICE = "root";

  private QemuArgs() {}

  public static List<String> build(QemuLaunch l) {
    RunDir run = l.runDir();
    List<String> a = new ArrayList<>();
    a.add(BINARY);
    a.addAll(List.of("-name", l.name()));
    // microvm: no PCI, no firmware; ACPI on because the Debian kernel finds virtio-mmio devices
    // only through ACPI.
    a.addAll(List.of("-machine", "microvm,acpi=on,rtc=on,memory-backend=mem"));
    a.addAll(List.of("-accel", l.accelerator().qemuAccel()));
    a.addAll(List.of("-cpu", l.accelerator().cpuModel()));
    a.addAll(List.of("-smp", Integer.toString(l.shape().vcpus())));
    a.addAll(List.of("-m", l.shape().memoryMib() + "M"));
    // merge=on: guest RAM is MADV_MERGEABLE, so that KSM, where the host runs it (MemoryMerging),
    // can merge the pages forks of one VM share. QEMU's default (the machine's mem-merge) already
    // is on; said here so that a changed default cannot take it away. Not guest-visible.
    a.addAll(List.of("-object", "memory-backend-file,id=mem,size=" + l.shape().memoryMib() + "M,mem-path=" + l.ramFile()
        + ",share=" + (l.ramShared() ? "on" : "off") + ",prealloc=off,merge=on"));
    a.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none"));
    a.addAll(List.of("-kernel", l.kernel().toString(), "-initrd", l.initrd().toString(), "-append", l.kernelArgs()));
    a.addAll(List.of("-chardev", "file,id=serial,path=" + run.serialLog() + ",append=on", "-serial", "chardev:serial"));
    a.addAll(List.of("-drive", "id=" + DISK_DEVICE + ",node-name=disk0,file=" + l.disk() + ",format=qcow2,if=none,cache=writeback,discard=unmap,detect-zeroes=unmap"));
    a.addAll(List.of("-device", "virtio-blk-device,drive=root"));
    a.addAll(List.of("-netdev", l.tap().map(t -> "tap,id=net0,ifname=" + t + ",script=no,downscript=no").orElse("hubport,id=net0,hubid=0")));
    a.addAll(List.of("-device", "virtio-net-device,netdev=net0,mac=" + l.mac()));
    // No device that discards guest RAM (virtio-balloon, virtio-mem): fork pre-copy (PreCopy)
    // relies on pages not being dropped in the moment before the parent stops.
    a.addAll(List.of("-device", "virtio-serial-device,max_ports=2"));
    a.addAll(List.of("-chardev", "socket,id=agent,path=" + run.agentSocket() + ",server=on,wait=off"));
    a.addAll(List.of("-device", "virtserialport,chardev=agent,name=boxd.agent"));
    a.addAll(List.of("-qmp", "unix:" + run.qmpSocket() + ",server=on,wait=off"));
    a.addAll(List.of("-qmp", "unix:" + run.qmpCommandSocket() + ",server=on,wait=off"));
    a.addAll(List.of("-pidfile", run.pidFile().toString()));
    if (l.incoming() == QemuLaunch.Incoming.DEVICES_ONLY) {
      a.addAll(List.of("-global", "migration.send-configuration=off"));
    }
    if (l.incoming() != QemuLaunch.Incoming.NONE) {
      a.addAll(List.of("-incoming", "defer"));
    }
    return a;
  }
}
