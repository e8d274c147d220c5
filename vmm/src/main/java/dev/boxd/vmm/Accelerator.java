package dev.boxd.vmm;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How QEMU runs guest code. KVM on real hosts; TCG (software emulation) where KVM is absent or
 * is a PVM hypervisor, which hangs ordinary guest kernels (seen on the machines CI uses).
 */
public enum Accelerator {
  KVM("kvm", "host"),
  /**
   * {@code tb-size}: the translation cache, in MiB. A guest process's code is translated anew each
   * time it runs (~1.7 MiB per {@code exec true}, none of it reused: presumably guest ASLR puts it
   * at other addresses each time), so every VM's cache fills up to this size and is then flushed
   * and refilled. 32 MiB holds what a fork child runs when idle (~13 MiB) and a flush is rare
   * (about one per dozen guest processes, ~50 ms); at 16 MiB and below the guest translates again
   * almost constantly (measured in fork children, {@code exec true} after a few commands: 34-38 ms
   * at 32 MiB and more, 54 ms at 16; at 8 MiB 138 ms and at 4 MiB 274 ms from the start, against
   * 41). The default it replaces, 256 MiB, let every long-lived VM grow by that much. Host-only:
   * not in the golden.
   */
  TCG("tcg,thread=multi,tb-size=32", "max");

  private final String qemuAccel;
  private final String cpuModel;

  Accelerator(String qemuAccel, String cpuModel) {
    this.qemuAccel = qemuAccel;
    this.cpuModel = cpuModel;
  }

  String qemuAccel() {
    return qemuAccel;
  }

  String cpuModel() {
    return cpuModel;
  }

  /** The choice and the reason for it, for logs and {@code boxd doctor}. */
  public record Choice(Accelerator accelerator, String reason) {}

  /** {@code BOXD_ACCEL=kvm|tcg} overrides the probe. */
  public static Choice detect() {
    String forced = System.getenv("BOXD_ACCEL");
    if (forced != null && !forced.isBlank()) {
      return new Choice(valueOf(forced.strip().toUpperCase()), "BOXD_ACCEL=" + forced.strip());
    }
    if (Files.exists(Path.of("/sys/module/kvm_pvm"))) {
      return new Choice(TCG, "/dev/kvm is the PVM hypervisor (kvm_pvm), which cannot run ordinary guest kernels");
    }
    Path kvm = Path.of("/dev/kvm");
    if (!Files.exists(kvm)) {
      return new Choice(TCG, "/dev/kvm does not exist");
    }
    if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
      return new Choice(TCG, "/dev/kvm is not accessible to this user");
    }
    return new Choice(KVM, "/dev/kvm is available");
  }
}
