package dev.boxd.vmm.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * One VM's control group: a directory per hierarchy (v1: cpu and memory; v2: one). A process
 * joins it by writing its pid to every {@link #procsFiles()}.
 */
public record VmCgroup(Cgroups.Version version, List<Path> dirs) {

  public List<Path> procsFiles() {
    return dirs.stream().map(d -> d.resolve("cgroup.procs")).toList();
  }

  void apply(CgroupLimits limits) throws IOException {
    if (version == Cgroups.Version.V2) {
      write(dirs.getFirst().resolve("cpu.max"), limits.cpuQuotaMicros() + " " + CgroupLimits.PERIOD_US);
      write(dirs.getFirst().resolve("memory.max"), Long.toString(limits.memoryBytes()));
      // The whole QEMU goes when it runs out, not one thread of it.
      write(dirs.getFirst().resolve("memory.oom.group"), "1");
    } else {
      write(dir("cpu.").resolve("cpu.cfs_period_us"), Long.toString(CgroupLimits.PERIOD_US));
      write(dir("cpu.").resolve("cpu.cfs_quota_us"), Long.toString(limits.cpuQuotaMicros()));
      write(dir("memory.").resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
    }
  }

  /** The limits in force now, read back from the group's files. */
  public CgroupLimits limits() {
    try {
      if (version == Cgroups.Version.V2) {
        String[] cpu = Files.readString(dirs.getFirst().resolve("cpu.max")).strip().split(" ");
        long memory = Long.parseLong(Files.readString(dirs.getFirst().resolve("memory.max")).strip());
        return new CgroupLimits(Long.parseLong(cpu[0]) * CgroupLimits.PERIOD_US / Long.parseLong(cpu[1]), memory);
      }
      long quota = Long.parseLong(Files.readString(dir("cpu.").resolve("cpu.cfs_quota_us")).strip());
      long period = Long.parseLong(Files.readString(dir("cpu.").resolve("cpu.cfs_period_us")).strip());
      long memory = Long.parseLong(Files.readString(dir("memory.").resolve("memory.limit_in_bytes")).strip());
      return new CgroupLimits(quota * CgroupLimits.PERIOD_US / period, memory);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot read the limits of the cgroup " + dirs + ": " + e.getMessage(), e);
    }
  }

  /** Memory charged to the group now (QEMU's own and the template pages it faulted first). */
  public long memoryUsage() {
    try {
      Path file = version == Cgroups.Version.V2 ? dirs.getFirst().resolve("memory.current") : dir("memory.").resolve("memory.usage_in_bytes");
      return Long.parseLong(Files.readString(file).strip());
    } catch (IOException e) {
      return -1;
    }
  }

  /** The v1 directory whose hierarchy has files starting with {@code prefix}. */
  private Path dir(String prefix) {
    for (Path d : dirs) {
      if (Files.exists(d.resolve(prefix + (prefix.equals("cpu.") ? "cfs_quota_us" : "limit_in_bytes")))) {
        return d;
      }
    }
    throw new IllegalStateException("no " + prefix + " controller among " + dirs);
  }

  private static void write(Path file, String value) throws IOException {
    Files.writeString(file, value, StandardOpenOption.WRITE);
  }
}
