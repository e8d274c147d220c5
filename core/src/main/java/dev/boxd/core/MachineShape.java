package dev.boxd.core;

/** vCPUs and guest RAM. A golden snapshot exists per shape: restored CPU state must match. */
public record MachineShape(int vcpus, int memoryMib) {
  public MachineShape {
    if (vcpus < 1 || vcpus > 64) {
      throw BoxdException.invalid("invalid vcpu count " + vcpus + ": expected 1 to 64");
    }
    if (memoryMib < 256 || memoryMib > 262144) {
      throw BoxdException.invalid("invalid memory " + memoryMib + " MiB: expected 256 MiB to 256 GiB");
    }
  }

  /** The product default: 2 vCPU, 8 GiB. */
  public static MachineShape standard() {
    return new MachineShape(2, 8192);
  }

  public String key() {
    return vcpus + "c" + memoryMib + "m";
  }
}
