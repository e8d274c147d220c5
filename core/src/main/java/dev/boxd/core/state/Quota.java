package dev.boxd.core.state;

/**
 * What one account may hold (SPEC §7): how many VMs, how large one VM may be, and how much vCPU,
 * memory and disk its VMs may add up to. Every VM not yet removed counts, whatever its power
 * state: a stopped VM keeps its disk and may be started again at any time.
 *
 * @param maxVms VMs (running, standby, hibernated and stopped)
 * @param vmVcpus largest vCPU count of one VM
 * @param vmMemoryMib largest memory of one VM, in MiB
 * @param vmDiskGb largest disk of one VM, in GB
 * @param totalVcpus vCPUs of all the account's VMs together
 * @param totalMemoryMib memory of all the account's VMs together, in MiB
 * @param totalDiskGb disk of all the account's VMs together, in GB
 */
public record Quota(int maxVms, int vmVcpus, long vmMemoryMib, long vmDiskGb, long totalVcpus, long totalMemoryMib,
    long totalDiskGb) {

  /** The default: 10 VMs of up to 2 vCPU / 8 GiB / 100 GB each, and room for ten such VMs in total. */
  public static final Quota STANDARD = ofVms(ClusterState.DEFAULT_MAX_VMS);

  /**
   * {@code maxVms} VMs of the standard largest size, totals sized for that many: what an account
   * created or re-quota'd by VM count alone (before totals existed) gets.
   */
  public static Quota ofVms(int maxVms) {
    return new Quota(maxVms, 2, 8192, 100, 2L * maxVms, 8192L * maxVms, 100L * maxVms);
  }

  /** This quota with {@code newMaxVms}, totals scaled to that many VMs of the per-VM size. */
  Quota withMaxVms(int newMaxVms) {
    return new Quota(newMaxVms, vmVcpus, vmMemoryMib, vmDiskGb, (long) vmVcpus * newMaxVms, vmMemoryMib * newMaxVms,
        vmDiskGb * newMaxVms);
  }

  /** The first negative limit as "name value", or null when every limit is 0 or more. */
  String negative() {
    if (maxVms < 0) {
      return "VMs " + maxVms;
    }
    if (vmVcpus < 0 || vmMemoryMib < 0 || vmDiskGb < 0) {
      return "per-VM size " + vmVcpus + " vCPU / " + vmMemoryMib + " MiB / " + vmDiskGb + " GB";
    }
    if (totalVcpus < 0 || totalMemoryMib < 0 || totalDiskGb < 0) {
      return "totals " + totalVcpus + " vCPU / " + totalMemoryMib + " MiB / " + totalDiskGb + " GB";
    }
    return null;
  }

  @Override
  public String toString() {
    return maxVms + " VMs of up to " + vmVcpus + " vCPU / " + vmMemoryMib + " MiB / " + vmDiskGb + " GB each, "
        + totalVcpus + " vCPU / " + totalMemoryMib + " MiB / " + totalDiskGb + " GB in total";
  }
}
