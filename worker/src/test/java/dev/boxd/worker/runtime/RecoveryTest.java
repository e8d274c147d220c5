package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.net.VmNic;
import dev.boxd.os.HostCommand;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.cgroup.Cgroups;
import dev.boxd.vmm.cgroup.VmCgroup;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** VMs outlive their supervisor; a dead QEMU is reported; destroy leaves nothing behind. */
class RecoveryTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  @Test
  void vmsSurviveSupervisorKillAndANewSupervisorReattaches() throws Exception {
    List<VmSpec> specs = List.of(fixture.spec("alice"), fixture.spec("alice"), fixture.spec("alice"));
    var config = fixture.config();
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-cp", System.getProperty("java.class.path"), SupervisorMain.class.getName(),
        config.stateDir().toString(), config.cacheDir().toString(), config.recipeDir().toString(),
        config.network().namespace(), config.network().subnet().toString(), "alice"));
    specs.forEach(s -> command.add(s.id() + ":" + s.name() + ":" + s.ip()));
    Process supervisor = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, Long> pids = new LinkedHashMap<>();
    try (var lines = new BufferedReader(new InputStreamReader(supervisor.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null && !line.equals("READY")) {
        String[] parts = line.split(" ");
        if (parts.length == 3 && parts[0].equals("VM")) {
          pids.put(parts[1], Long.parseLong(parts[2]));
        }
      }
      assertThat(line).as("supervisor reached READY").isEqualTo("READY");
      supervisor.destroyForcibly();  // SIGKILL
      supervisor.waitFor();
    }
    assertThat(pids).hasSize(3);
    pids.values().forEach(pid -> assertThat(QemuVm.isProcessAlive(pid)).as("QEMU %d survives the supervisor", pid).isTrue());
    // The first VM was the supervisor's warm VM (its directory keeps the pool's name); the next
    // warm VM waits, and is the new supervisor's to remove.
    List<Path> warmDirs;
    try (var dirs = Files.list(config.vmsDir())) {
      warmDirs = dirs.filter(d -> d.getFileName().toString().startsWith("pool-")).toList();
    }
    assertThat(warmDirs).as("a VM made from the pool and a waiting warm VM").hasSize(2);
    Path waiting = warmDirs.stream().filter(d -> Files.exists(d.resolve(WarmPool.MARKER))).findFirst().orElseThrow();
    long warmPid = new dev.boxd.vmm.RunDir(waiting.resolve("run")).pid().orElseThrow();
    String warmTap = "bxp" + waiting.getFileName().toString().substring("pool-".length());
    assertThat(QemuVm.isProcessAlive(warmPid)).isTrue();

    fixture.runtime().close();
    LocalVmRuntime restarted = fixture.restartedRuntime();
    fixture.replaceRuntime(restarted);
    List<VmEvent> events = new CopyOnWriteArrayList<>();
    restarted.observe(events::add);
    List<VmInfo> recovered = restarted.recover();
    assertThat(recovered).extracting(VmInfo::id).containsExactlyInAnyOrderElementsOf(pids.keySet());
    assertThat(QemuVm.isProcessAlive(warmPid)).as("the dead supervisor's warm VM is ended").isFalse();
    assertThat(restarted.network().taps()).doesNotContain(warmTap);
    assertThat(waiting).doesNotExist();
    Map<String, VmCgroup> groups = new LinkedHashMap<>();
    for (VmInfo vm : recovered) {
      assertThat(vm.state()).isEqualTo(VmState.RUNNING);
      assertThat(vm.pid()).as("same QEMU, not restarted").isEqualTo(pids.get(vm.id()));
      // Its control group as the dead supervisor made it.
      var group = Cgroups.host().of(vm.pid()).orElseThrow();
      assertThat(group.limits()).isEqualTo(QemuDriver.limitsOf(RuntimeFixture.SHAPE));
      groups.put(vm.id(), group);
      var out = new java.io.ByteArrayOutputStream();
      try (var session = restarted.exec(vm.id(), ExecRequest.of("echo alive-$BOXD_VM_ID"), out, java.io.OutputStream.nullOutputStream())) {
        session.stdin().close();
        assertThat(session.awaitExit(Duration.ofSeconds(60))).isZero();
      }
      assertThat(out.toString()).isEqualTo("alive-" + vm.id() + "\n");
    }

    // kill -9 of one QEMU: reported failed, the others unaffected.
    String victim = specs.get(0).id();
    HostCommand.run("kill", "-9", Long.toString(pids.get(victim)));
    await().atMost(Duration.ofSeconds(30)).until(() -> restarted.info(victim).state() == VmState.FAILED);
    assertThat(restarted.info(victim).failure()).hasValueSatisfying(f -> assertThat(f).contains("exited unexpectedly"));
    assertThat(groups.get(victim).dirs()).allSatisfy(dir -> assertThat(dir).doesNotExist());
    assertThat(events).anySatisfy(e -> {
      assertThat(e.vmId()).isEqualTo(victim);
      assertThat(e.state()).isEqualTo(VmState.FAILED);
    });
    for (VmSpec other : specs.subList(1, 3)) {
      assertThat(restarted.info(other.id()).state()).isEqualTo(VmState.RUNNING);
      var out = new java.io.ByteArrayOutputStream();
      try (var session = restarted.exec(other.id(), ExecRequest.of("echo still-here"), out, java.io.OutputStream.nullOutputStream())) {
        session.stdin().close();
        assertThat(session.awaitExit(Duration.ofSeconds(60))).isZero();
      }
    }

    // Destroy leaves no process, tap, rule, socket or file.
    for (VmSpec spec : specs) {
      restarted.destroy(spec.id());
      long pid = pids.get(spec.id());
      assertThat(QemuVm.isProcessAlive(pid)).as("QEMU %d gone", pid).isFalse();
      assertThat(groups.get(spec.id()).dirs()).allSatisfy(dir -> assertThat(dir).doesNotExist());
      String tap = VmNic.of(spec.ip(), "alice").tap();
      assertThat(restarted.network().taps()).doesNotContain(tap);
      assertThat(restarted.network().namespace().run("nft", "list", "ruleset").stdout()).doesNotContain(tap);
      assertThat(Files.exists(config.vmsDir().resolve(spec.id()))).isFalse();
    }
    assertThat(restarted.network().namespace().run("nft", "list", "ruleset").stdout()).doesNotContain("owner_");
    try (var left = Files.list(config.vmsDir())) {
      assertThat(left.map(Path::toString).toList()).isEmpty();
    }
  }
}
