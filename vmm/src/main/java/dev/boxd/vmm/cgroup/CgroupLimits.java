package dev.boxd.vmm.cgroup;

/**
 * What a VM's group allows: {@code cpuQuotaMicros} of CPU time per {@link #PERIOD_US} (a CFS
 * quota, not pinning) and {@code memoryBytes} of memory, past which the kernel reclaims and then
 * kills QEMU.
 */
public record CgroupLimits(long cpuQuotaMicros, long memoryBytes) {
  /** The CFS period. */
  static final long PERIOD_US = 100_000;

  public CgroupLimits {
    if (cpuQuotaMicros < PERIOD_US || memoryBytes < (64L << 20)) {
      throw new IllegalArgumentException("cgroup limits too small: " + cpuQuotaMicros + " µs of CPU per " + PERIOD_US + " µs, "
          + memoryBytes + " bytes");
    }
  }

  /**
   * The limits of a VM with {@code vcpus} vCPUs: a core for each, and one more for QEMU's own
   * threads (the main loop that answers QMP and moves I/O). The guest cannot use that core: it
   * runs only on its vCPU threads, one per vCPU. Without it a guest busy on every vCPU spends the
   * group's quota and QEMU's main loop (a QMP {@code cont}, virtio and network I/O) waits for the
   * next period, up to 100 ms: an idle 1-vCPU TCG VM resumed over SSH had 4–7 of every 40 periods
   * throttled.
   */
  public static CgroupLimits forVm(int vcpus, long memoryBytes) {
    if (vcpus < 1) {
      throw new IllegalArgumentException("a VM needs at least one vCPU, not " + vcpus);
    }
    return new CgroupLimits((vcpus + 1) * PERIOD_US, memoryBytes);
  }
}
