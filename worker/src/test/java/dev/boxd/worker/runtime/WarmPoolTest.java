package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.net.VmNic;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.RunDir;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * VMs made from the warm pool are VMs like any other: their own identity, clock, network and
 * clean-up; the pool refills, and what waits in it goes when the pool is closed.
 */
class WarmPoolTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  static ExecResult run(VmInfo vm, String command) {
    return fixture.run(vm, command);
  }

  static void awaitWarmVm() {
    await().atMost(Duration.ofMinutes(3)).until(() -> fixture.runtime().warmVms() == 1);
  }

  static List<Path> poolDirs() throws java.io.IOException {
    try (Stream<Path> dirs = Files.list(fixture.config().vmsDir())) {
      return dirs.filter(d -> d.getFileName().toString().startsWith("pool-")).toList();
    }
  }

  static Path dirOf(VmInfo vm) throws java.io.IOException {
    try (Stream<Path> dirs = Files.list(fixture.config().vmsDir())) {
      return dirs.filter(d -> new VmDirectory(d).exists() && new VmDirectory(d).read().id().equals(vm.id())).findFirst().orElseThrow();
    }
  }

  @Test
  void aVmFromThePoolHasItsOwnIdentityClockAndNetwork() throws Exception {
    var runtime = fixture.runtime();
    runtime.keepWarm(RuntimeFixture.SHAPE, 1);
    try {
      awaitWarmVm();
      Path waiting = poolDirs().getFirst();
      String poolTap = "bxp" + waiting.getFileName().toString().substring("pool-".length());
      Thread.sleep(3000); // the frozen warm VM's clock falls behind; create must set it

      VmInfo warm = runtime.create(fixture.spec("alice"));
      VmInfo cold = runtime.create(fixture.spec("alice")); // the pool settles before it refills: a cold create
      assertThat(dirOf(warm)).as("made from the waiting VM").isEqualTo(waiting);
      assertThat(dirOf(cold).getFileName().toString()).isEqualTo(cold.id());
      assertThat(waiting.resolve(WarmPool.MARKER)).doesNotExist();

      String identity = "cat /sys/class/net/eth0/address; ip -4 -o addr show dev eth0 | awk '{print $4}'; hostname; "
          + "cat /etc/machine-id; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub; echo $BOXD_VM_ID $BOXD_VM_NAME; date +%s";
      List<String> w = run(warm, identity).orThrow("identity").stdoutText().lines().toList();
      List<String> c = run(cold, identity).orThrow("identity").stdoutText().lines().toList();
      assertThat(w.get(0)).isEqualTo(warm.mac());
      assertThat(w.get(1)).isEqualTo(fixture.config().network().subnet().cidrOf(warm.ip()));
      assertThat(w.get(2)).isEqualTo(warm.name());
      assertThat(w.get(3)).isEqualTo(new VmDirectory(waiting).read().machineId());
      assertThat(w.get(4)).isEqualTo(Files.readString(waiting.resolve("ssh_host_ed25519_key.pub")).split(" ")[1]);
      assertThat(w.get(5)).isEqualTo(warm.id() + " " + warm.name());
      assertThat(Math.abs(Long.parseLong(w.get(6)) - System.currentTimeMillis() / 1000)).as("guest clock").isLessThanOrEqualTo(2);
      for (int i = 0; i < 6; i++) {
        assertThat(w.get(i)).as("identity line %d", i).isNotEqualTo(c.get(i));
      }

      // sshd, started before the golden was saved, serves this VM's key, not a placeholder.
      String keyscan = runtime.network().namespace().run("ssh-keyscan", "-T", "20", "-t", "ed25519", warm.ip().toString()).stdout();
      assertThat(keyscan).contains(w.get(4));

      // Its tap was renamed to the VM's and attached: the gateway and a sibling answer.
      String gateway = fixture.config().network().subnet().gateway().toString();
      assertThat(run(warm, "ping -c 1 -W 3 " + gateway).exitCode()).isZero();
      assertThat(run(warm, "ping -c 1 -W 3 " + cold.ip()).exitCode()).isZero();
      assertThat(runtime.network().taps()).contains(VmNic.of(warm.ip(), "alice").tap()).doesNotContain(poolTap);

      awaitWarmVm(); // refilled
      long warmPid = warm.pid();
      runtime.destroy(warm.id());
      runtime.destroy(cold.id());
      assertThat(QemuVm.isProcessAlive(warmPid)).isFalse();
      assertThat(waiting).doesNotExist();
      assertThat(runtime.network().taps()).doesNotContain(VmNic.of(warm.ip(), "alice").tap());
    } finally {
      runtime.keepWarm(RuntimeFixture.SHAPE, 0);
    }
  }

  @Test
  void closingThePoolEndsWhatWaitsInIt() throws Exception {
    var runtime = fixture.runtime();
    runtime.keepWarm(RuntimeFixture.SHAPE, 1);
    awaitWarmVm();
    Path waiting = poolDirs().getFirst();
    long pid = new RunDir(waiting.resolve("run")).pid().orElseThrow();
    String tap = "bxp" + waiting.getFileName().toString().substring("pool-".length());
    assertThat(runtime.network().taps()).contains(tap);
    assertThat(QemuVm.isProcessAlive(pid)).isTrue();

    runtime.keepWarm(RuntimeFixture.SHAPE, 0);
    assertThat(runtime.warmVms()).isZero();
    assertThat(QemuVm.isProcessAlive(pid)).isFalse();
    assertThat(runtime.network().taps()).doesNotContain(tap);
    assertThat(poolDirs()).isEmpty();
  }
}
