package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;

import dev.boxd.core.state.Command.CreateVm;

/**
 * Whether a new VM fits: in its owner's quota (count, per-VM size, totals) and on its worker's
 * memory. Each check returns null when it fits, else a message naming the limit, what is held,
 * what was asked and what to do; the caller rejects with RESOURCE_EXHAUSTED. Pure functions of
 * the state, so every replica decides the same.
 */
final class Admission {
  /**
   * Guest memory a worker may promise, as a multiple of its RAM: 3/2. A VM's RAM is a private
   * copy-on-write mapping of its golden, so a VM costs only the pages its guest has written
   * (an idle new VM tens of MiB, see docs/architecture.md); but nothing takes memory back from a
   * guest (no balloon), and a guest's page cache grows until it has touched all its memory. 1.5
   * is the common hypervisor default (OpenStack's ram_allocation_ratio): room for VMs that use a
   * third of what they were given, without promising more than the host can page in if half
   * of them fill up. Integers, so that every replica computes the same.
   */
  static final long OVERCOMMIT_NUMERATOR = 3;
  static final long OVERCOMMIT_DENOMINATOR = 2;

  private Admission() {}

  /** The account's quota: VM count, per-VM size, then totals over every VM it holds. */
  static String quota(ClusterState s, User owner, CreateVm c) {
    Quota q = owner.quota();
    var held = s.vmsOf(owner.id());
    if (held.size() >= q.maxVms()) {
      return "quota reached: " + held.size() + " of " + q.maxVms()
          + " VMs (running, standby, hibernated and stopped all count); destroy one, or ask an operator to raise it";
    }
    if (c.vcpus() > q.vmVcpus() || c.memoryMib() > q.vmMemoryMib() || c.diskGb() > q.vmDiskGb()) {
      return "VM " + quote(c.name()) + " is larger than this account's per-VM limit: asked " + c.vcpus() + " vCPU / "
          + c.memoryMib() + " MiB / " + c.diskGb() + " GB, limit " + q.vmVcpus() + " vCPU / " + q.vmMemoryMib() + " MiB / "
          + q.vmDiskGb() + " GB per VM; ask for less (--vcpu, --memory), or ask an operator to raise it";
    }
    long vcpus = 0;
    long memory = 0;
    long disk = 0;
    for (Vm vm : held) {
      vcpus += vm.vcpus();
      memory += vm.memoryMib();
      disk += vm.diskGb();
    }
    String over = total("vCPU", "", vcpus, c.vcpus(), q.totalVcpus());
    if (over == null) {
      over = total("memory", " MiB", memory, c.memoryMib(), q.totalMemoryMib());
    }
    if (over == null) {
      over = total("disk", " GB", disk, c.diskGb(), q.totalDiskGb());
    }
    return over == null ? null : over + "; destroy a VM, ask for a smaller one, or ask an operator to raise the quota";
  }

  private static String total(String what, String unit, long used, long asked, long limit) {
    return used + asked <= limit ? null
        : what + " quota reached: this account's VMs hold " + used + unit + " of " + limit + unit + " and this VM asks for "
            + asked + unit;
  }

  /**
   * Whether the worker has memory for the VM: guest memory of the VMs there that hold it (all
   * but stopped and hibernated ones; destroyed ones until removed) plus the new VM's, against
   * the worker's RAM times the overcommit.
   */
  static String workerMemory(ClusterState s, Worker worker, CreateVm c) {
    long promisable = promisable(worker);
    long promised = promisable - memoryRoom(s, worker);
    if (promised + c.memoryMib() <= promisable) {
      return null;
    }
    return "worker " + quote(worker.id()) + " has no room for " + c.memoryMib() + " MiB more: its VMs hold " + promised
        + " MiB of the " + promisable + " MiB it may promise (" + worker.memoryMib() + " MiB of RAM x " + OVERCOMMIT_NUMERATOR
        + "/" + OVERCOMMIT_DENOMINATOR + "); stop, hibernate or destroy a VM, or ask for less memory (--memory)";
  }

  /** Guest memory the worker may promise in all, in MiB. */
  static long promisable(Worker worker) {
    return worker.memoryMib() * OVERCOMMIT_NUMERATOR / OVERCOMMIT_DENOMINATOR;
  }

  /** Guest memory the worker may still promise, in MiB (negative when over, as after its RAM shrank). */
  static long memoryRoom(ClusterState s, Worker worker) {
    long promised = 0;
    for (Vm vm : s.vmsOnWorker(worker.id())) {
      if (holdsMemory(vm)) {
        promised += vm.memoryMib();
      }
    }
    return promisable(worker) - promised;
  }

  /** Whether a VM's guest memory is (or may at once be) in the host's RAM. */
  static boolean holdsMemory(Vm vm) {
    return vm.desired() != DesiredPower.STOPPED && vm.desired() != DesiredPower.HIBERNATED;
  }
}
