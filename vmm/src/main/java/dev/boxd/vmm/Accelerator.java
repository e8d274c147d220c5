package dev.boxd.vmm;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How QEMU runs guest code. KVM on real hosts; TCG (software emulation) where KVM is absent or
 * is a PVM hypervisor, which hangs ordinary guest kernels (seen on the machines CI uses).
 */
public enum Accelerator {
  KVM("kvm", "host"),
  TCG("tcg,thread=multi,tb-size=256", "max");

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
