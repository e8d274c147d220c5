package dev.boxd.vmm.cgroup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which cgroup version is used and where VM groups go, from mountinfo and /proc/PID/cgroup text. */
class CgroupsTest {
  @TempDir
  Path tmp;

  private static final List<String> HYBRID = List.of(
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");

  @Test
  void aHybridHostIsLimitedThroughV1UnderTheServersOwnGroups() {
    // The unified hierarchy of a hybrid host offers no cpu or memory controller.
    var own = CgroupMounts.ownPaths(List.of("9:name=systemd:/", "4:memory:/jobs/42", "1:cpu:/", "0::/"));
    Cgroups cgroups = Cgroups.choose(CgroupMounts.parse(HYBRID), own);
    assertThat(cgroups.version()).isEqualTo(Cgroups.Version.V1);
    assertThat(cgroups.describe()).isEqualTo("v1: each VM in its own group under /sys/fs/cgroup/cpu/boxd and /sys/fs/cgroup/memory/jobs/42/boxd");
  }

  @Test
  void aV2OnlyHostIsLimitedThroughTheUnifiedHierarchy() throws IOException {
    Path root = tmp.resolve("cgroup");
    Files.createDirectories(root);
    Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
    var mounts = CgroupMounts.parse(List.of("25 20 0:23 / " + root + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"));
    Cgroups cgroups = Cgroups.choose(mounts, CgroupMounts.ownPaths(List.of("0::/system.slice/boxd.service")));
    assertThat(cgroups.version()).isEqualTo(Cgroups.Version.V2);
    // Not under the server's own group: a v2 group with processes cannot hand controllers down.
    assertThat(cgroups.describe()).isEqualTo("v2: each VM in its own group under " + root.resolve("boxd"));
  }

  @Test
  void withoutCpuAndMemoryControllersThereAreNoGroupsAndTheReasonIsGiven() throws IOException {
    Path root = tmp.resolve("cgroup");
    Files.createDirectories(root);
    Files.writeString(root.resolve("cgroup.controllers"), "hugetlb\n");
    var mounts = CgroupMounts.parse(List.of("25 20 0:23 / " + root + " rw - cgroup2 cgroup2 rw"));
    Cgroups cgroups = Cgroups.choose(mounts, Map.of());
    assertThat(cgroups.version()).isEqualTo(Cgroups.Version.NONE);
    assertThat(cgroups.describe()).startsWith("none: VMs run without cpu and memory limits (cgroup v2 at " + root + " does not offer");
    assertThat(cgroups.create("vm1", CgroupLimits.forVm(1, 1L << 30))).isEmpty();
  }

  @Test
  void aContainersMountShowsItsOwnSubtreeAtTheMountPoint() {
    var mount = new CgroupMounts.Mount(Path.of("/sys/fs/cgroup/memory"), "/docker/abc");
    assertThat(mount.dirOf("/docker/abc/boxd/vm1")).isEqualTo(Path.of("/sys/fs/cgroup/memory/boxd/vm1"));
    assertThat(mount.dirOf("/docker/abc")).isEqualTo(Path.of("/sys/fs/cgroup/memory"));
    assertThat(new CgroupMounts.Mount(Path.of("/sys/fs/cgroup"), "/").dirOf("/boxd/vm1")).isEqualTo(Path.of("/sys/fs/cgroup/boxd/vm1"));
  }

  @Test
  void combinedV1ControllersAreFoundByEachName() {
    var mounts = CgroupMounts.parse(List.of("31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
        "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory"));
    var own = CgroupMounts.ownPaths(List.of("2:cpu,cpuacct:/a", "4:memory:/b"));
    assertThat(own).containsEntry("cpu", "/a").containsEntry("cpuacct", "/a").containsEntry("memory", "/b");
    assertThat(Cgroups.choose(mounts, own).describe()).isEqualTo("v1: each VM in its own group under /sys/fs/cgroup/cpu,cpuacct/a/boxd and /sys/fs/cgroup/memory/b/boxd");
  }

  @Test
  void limitsRefuseWhatCannotRunAVm() {
    assertThat(CgroupLimits.forVm(2, 1L << 30).cpuQuotaMicros()).as("two vCPUs and QEMU's own core").isEqualTo(300_000);
    assertThatThrownBy(() -> CgroupLimits.forVm(0, 1L << 30)).hasMessageContaining("not 0");
    assertThatThrownBy(() -> CgroupLimits.forVm(1, 1L << 20)).hasMessageContaining("1048576 bytes");
  }
}
