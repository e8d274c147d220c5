package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuUser;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.cgroup.Cgroups;
import dev.boxd.vmm.cgroup.VmCgroup;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every QEMU runs as the unprivileged QEMU user, in seccomp's filter mode, in a control group of
 * its own with its VM's limits, and the group goes with the VM. Forks, saved snapshots and
 * hibernation hand the confined QEMU its new files; they must work as before.
 */
class ConfinementTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  /** The fields of /proc/PID/status. */
  static Map<String, String> status(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.contains(":"))
        .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(':')), l -> l.substring(l.indexOf(':') + 1).strip(), (a, b) -> a));
  }

  static void assertConfined(long pid) throws IOException {
    var user = QemuUser.lookup().orElseThrow();
    var status = status(pid);
    assertThat(status.get("Uid").split("\\s+")).as("real, effective, saved and fs uid of QEMU %d", pid)
        .containsOnly(Integer.toString(user.uid()));
    assertThat(status.get("Gid").split("\\s+")).containsOnly(Integer.toString(user.gid()));
    assertThat(status.get("CapEff")).isEqualTo("0000000000000000");
    assertThat(status.get("Seccomp")).as("seccomp mode (2: filter)").isEqualTo("2");
    assertThat(status.get("NoNewPrivs")).isEqualTo("1");
    // Not dumpable: another QEMU of the same user cannot read this one's memory.
    assertThat(Files.getOwner(Path.of("/proc/" + pid + "/mem")).getName()).isEqualTo("root");
  }

  static VmCgroup assertInOwnGroup(VmInfo vm) {
    var group = Cgroups.host().of(vm.pid());
    assertThat(group).as("the cgroup of VM %s (QEMU %d)", vm.id(), vm.pid()).isPresent();
    assertThat(group.get().dirs()).allSatisfy(dir -> assertThat(dir.getFileName().toString()).startsWith("boxd-" + vm.id() + "-"));
    var limits = group.get().limits();
    var expected = QemuDriver.limitsOf(RuntimeFixture.SHAPE);
    assertThat(limits.cpuQuotaMicros()).isEqualTo(expected.cpuQuotaMicros());
    assertThat(limits.memoryBytes()).isEqualTo(expected.memoryBytes());
    assertThat(group.get().procsFiles()).allSatisfy(procs -> assertThat(readProcs(procs)).containsExactly(Long.toString(vm.pid())));
    return group.get();
  }

  private static String memoryStat(VmCgroup group) {
    return group.dirs().stream().map(d -> d.resolve(Files.exists(d.resolve("memory.stat")) ? "memory.stat" : "nothing")).filter(Files::exists)
        .flatMap(f -> readProcs(f).stream()).filter(l -> l.matches("(rss|cache|shmem|mapped_file|anon|file|shmem|kernel) .*"))
        .collect(Collectors.joining(", "));
  }

  private static List<String> readProcs(Path procs) {
    try {
      return Files.readAllLines(procs);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void qemuRunsAsTheQemuUserInASandboxAndItsOwnGroup() throws Exception {
    assertThat(Cgroups.host().version()).isNotEqualTo(Cgroups.Version.NONE);
    var runtime = fixture.runtime();
    VmInfo vm = fixture.create("alice");
    assertConfined(vm.pid());
    VmCgroup group = assertInOwnGroup(vm);
    assertThat(fixture.run(vm, "echo hello").stdoutText()).isEqualTo("hello\n");

    // What the group is charged: QEMU itself, the guest's private pages, and pages of the golden's
    // RAM file that this VM faulted in first (each written page counts twice at worst).
    long idle = group.memoryUsage();
    assertThat(fixture.run(vm, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 2>/dev/null; sync").exitCode()).isZero();
    long filled = group.memoryUsage();
    System.out.printf("VM group charged %d MiB idle, %d MiB after the guest wrote 200 MiB (limit %d MiB)%n%s%n", idle >> 20,
        filled >> 20, group.limits().memoryBytes() >> 20, memoryStat(group));
    assertThat(filled - idle).isGreaterThan(150L << 20);
    assertThat(filled).isLessThan(group.limits().memoryBytes());

    // A restarted supervisor finds the VM's group as it was: it is read from the process.
    assertThat(Cgroups.host().of(vm.pid())).contains(group);

    runtime.destroy(vm.id());
    assertThat(QemuVm.isProcessAlive(vm.pid())).isFalse();
    assertThat(group.dirs()).allSatisfy(dir -> assertThat(dir).doesNotExist());
  }

  @Test
  void forksSnapshotsAndHibernationHandTheConfinedQemuItsFiles() throws Exception {
    var runtime = fixture.runtime();
    VmInfo parent = fixture.create("alice");
    assertThat(fixture.run(parent, "echo parent > marker; sync").exitCode()).isZero();

    // Twice: the second fork freezes a layer that the first handed over.
    VmInfo child1 = runtime.fork(parent.id(), fixture.spec("alice"));
    VmInfo child2 = runtime.fork(parent.id(), fixture.spec("alice"));
    for (VmInfo child : List.of(child1, child2)) {
      assertConfined(child.pid());
      assertInOwnGroup(child);
      assertThat(fixture.run(child, "cat marker").stdoutText()).isEqualTo("parent\n");
    }
    assertThat(fixture.run(parent, "echo again >> marker; cat marker").stdoutText()).isEqualTo("parent\nagain\n");

    runtime.saveSnapshot(parent.id(), "confined-snap");
    VmInfo restored = runtime.createFromSnapshot("confined-snap", fixture.spec("alice"));
    assertConfined(restored.pid());
    assertThat(fixture.run(restored, "cat marker").stdoutText()).isEqualTo("parent\nagain\n");

    VmCgroup before = Cgroups.host().of(parent.pid()).orElseThrow();
    runtime.hibernate(parent.id());
    assertThat(before.dirs()).allSatisfy(dir -> assertThat(dir).doesNotExist());
    runtime.resume(parent.id());
    assertThat(fixture.run(parent, "cat marker").stdoutText()).isEqualTo("parent\nagain\n");
    VmInfo woken = runtime.info(parent.id());
    assertConfined(woken.pid());
    assertInOwnGroup(woken);

    VmInfo rebooted = runtime.reboot(parent.id());
    assertConfined(rebooted.pid());
    assertInOwnGroup(rebooted);
    assertThat(fixture.run(rebooted, "cat marker").stdoutText()).isEqualTo("parent\nagain\n");

    for (VmInfo vm : List.of(parent, child1, child2, restored)) {
      VmCgroup group = Cgroups.host().of(runtime.info(vm.id()).pid()).orElseThrow();
      runtime.destroy(vm.id());
      assertThat(group.dirs()).allSatisfy(dir -> assertThat(dir).doesNotExist());
    }
    runtime.deleteSnapshot("confined-snap");
  }

  @Test
  void aGoldenIsBuiltByAConfinedQemu(@org.junit.jupiter.api.io.TempDir Path goldenRoot) throws Exception {
    var config = fixture.config();
    var image = config.imageStore().current().orElseThrow();
    var shape = new dev.boxd.core.MachineShape(1, 512);
    var golden = fixture.runtime().driver().golden(goldenRoot, image, shape, line -> System.out.println("[golden] " + line));
    try {
      // The device state came through a handed-over descriptor (no exec: migration in the sandbox).
      assertThat(Files.size(golden.deviceState())).isGreaterThan(10_000);
      assertThat(golden.readyMarker()).exists();
      assertThat(Files.list(golden.dir().resolve("run")).map(p -> p.getFileName().toString())).contains("qmp-fd.sock");
      assertThat(Files.readString(golden.dir().resolve("run/argv"))).contains("-runas\nboxd-qemu\n");
    } finally {
      Files.deleteIfExists(golden.ramFile());
    }
  }
}
