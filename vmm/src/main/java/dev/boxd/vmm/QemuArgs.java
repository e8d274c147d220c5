package dev.boxd.vmm;

import java.util.ArrayList;
import java.util.List;

/** The QEMU command line for a launch: a pure function, golden-tested. */
public final class QemuArgs {
  public static final String BINARY = "qemu-system-x86_64";
  /** The block device name of the VM's disk, as QMP commands address it. */
  public static final String DISK_DEVICE = "root";
  /**
   * QEMU's seccomp filter: no starting programs, no obsolete system calls, no changing scheduling
   * or priorities of others. {@code elevateprivileges} (the set*id calls) is denied too, except
   * where QEMU changes user itself ({@code -runas}, which calls setgid and setuid after the filter
   * is in place, and is killed by it otherwise): there the change takes real, effective and saved
   * ids at once, QEMU checks that root cannot be had back, and with execve denied and
   * no_new_privs set (the filter sets it) nothing can raise them again.
   */
  /**
   * A confined QEMU gets its top disk layer as two descriptors its launcher opened (read-write
   * and read-only, see {@link QemuVm}), in an fd set: a QEMU restoring state opens its disk
   * inactive and reopens it read-write when the guest starts, by then as a user that cannot open
   * the file by name. The other layers are backing files, opened read-only at start and never again.
   */
  static final int DISK_FD = 3;
  static final int DISK_READ_ONLY_FD = 4;
  static final int DISK_FDSET = 1;

  static String sandbox(boolean changesUser) {
    return "on,obsolete=deny,elevateprivileges=" + (changesUser ? "allow" : "deny") + ",spawn=deny,resourcecontrol=deny";
  }

  private QemuArgs() {}

  /**
   * As {@link #build}, without the seccomp filter: for benchmarks that drive a QEMU by hand as a
   * baseline, loading state through an {@code exec:} migration, which the filter forbids.
   */
  public static List<String> buildUnsandboxed(QemuLaunch l) {
    List<String> a = build(l);
    int at = a.indexOf("-sandbox");
    a.subList(at, at + 2).clear();
    return a;
  }

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
    String disk = l.disk().toString();
    if (l.runAs().isPresent()) {
      a.addAll(List.of("-add-fd", "fd=" + DISK_FD + ",set=" + DISK_FDSET + ",opaque=" + QemuFiles.READ_WRITE + l.disk()));
      a.addAll(List.of("-add-fd", "fd=" + DISK_READ_ONLY_FD + ",set=" + DISK_FDSET + ",opaque=" + QemuFiles.READ_ONLY + l.disk()));
      disk = "/dev/fdset/" + DISK_FDSET;
    }
    a.addAll(List.of("-drive", "id=" + DISK_DEVICE + ",node-name=disk0,file=" + disk + ",format=qcow2,if=none,cache=writeback,discard=unmap,detect-zeroes=unmap"));
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
    // The monitor files are handed over on (FdMonitor): QEMU opens nothing by name once it runs.
    a.addAll(List.of("-qmp", "unix:" + run.qmpFdSocket() + ",server=on,wait=off"));
    a.addAll(List.of("-pidfile", run.pidFile().toString()));
    a.addAll(List.of("-sandbox", sandbox(l.runAs().isPresent())));
    l.runAs().ifPresent(user -> a.addAll(List.of("-runas", user)));
    if (l.incoming() == QemuLaunch.Incoming.DEVICES_ONLY) {
      a.addAll(List.of("-global", "migration.send-configuration=off"));
    }
    if (l.incoming() != QemuLaunch.Incoming.NONE) {
      a.addAll(List.of("-incoming", "defer"));
    }
    return a;
  }
}
