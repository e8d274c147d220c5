package dev.boxd.vmm.cgroup;

/**
 * What a VM's group allows: {@code cpus} cores of CPU time (a CFS quota, not pinning) and
 * {@code memoryBytes} of memory, past which the kernel reclaims and then kills QEMU.
 */
public record CgroupLimits(int cpus, long memoryBytes) {
  /** The CFS period; the quota is {@code cpus} times it. */
  static final long PERIOD_US = 100_000;

  public CgroupLimits {
    if (cpus < 1 || memoryBytes < (64L << 20)) {
      throw new IllegalArgumentException("cgroup limits too small: " + cpus + " cpus, " + memoryBytes + " bytes");
    }
  }

  public long cpuQuotaMicros() {
    return cpus * PERIOD_US;
  }
}
