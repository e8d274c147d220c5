package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.guest.GuestImage;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Pause/resume, stop/start, reboot, and refusal of bad input. */
class LifecycleTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  static ExecResult run(VmInfo vm, String command) {
    return fixture.run(vm, command);
  }

  @Test
  void pauseFreezesAndResumeContinuesWithTheClockRight() throws Exception {
    VmInfo vm = fixture.create("alice");
    var runtime = fixture.runtime();
    PauseTiming paused = runtime.pause(vm.id());
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.STANDBY);
    assertThat(paused.micros()).isPositive();
    Thread.sleep(3000); // the frozen guest's clock falls three seconds behind, which resume must repair
    PauseTiming resumed = runtime.resume(vm.id());
    assertThat(resumed.micros()).isPositive();
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.RUNNING);
    long hostNow = System.currentTimeMillis() / 1000;
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      long guestNow = Long.parseLong(run(vm, "date +%s").stdoutText().strip());
      assertThat(Math.abs(guestNow - System.currentTimeMillis() / 1000)).isLessThanOrEqualTo(1);
    });
    assertThat(hostNow).isPositive();
    // exec into a paused VM wakes it.
    runtime.pause(vm.id());
    assertThat(run(vm, "echo awake").stdoutText()).isEqualTo("awake\n");
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.RUNNING);
    runtime.destroy(vm.id());
  }

  @Test
  void filesSurviveStopStartAndReboot() {
    VmInfo vm = fixture.create("alice");
    var runtime = fixture.runtime();
    assertThat(run(vm, "echo before-stop > kept.txt").exitCode()).isZero();
    long firstPid = runtime.info(vm.id()).pid();
    runtime.stop(vm.id());
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.STOPPED);
    assertThat(runtime.info(vm.id()).pid()).isZero();
    assertThat(QemuVm.isProcessAlive(firstPid)).isFalse();
    assertThatThrownBy(() -> run(vm, "true"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));

    VmInfo started = runtime.start(vm.id());
    assertThat(started.state()).isEqualTo(VmState.RUNNING);
    assertThat(run(vm, "cat kept.txt; hostname; cat /sys/class/net/eth0/address").stdoutText())
        .isEqualTo("before-stop\n" + vm.name() + "\n" + vm.mac() + "\n");

    assertThat(run(vm, "echo before-reboot >> kept.txt").exitCode()).isZero();
    VmInfo rebooted = runtime.reboot(vm.id());
    assertThat(rebooted.pid()).isNotEqualTo(started.pid());
    assertThat(run(vm, "cat kept.txt; df -BG --output=size / | tail -1").stdoutText())
        .startsWith("before-stop\nbefore-reboot\n").satisfies(s -> assertThat(Long.parseLong(s.lines().toList().get(2).strip().replace("G", ""))).isGreaterThan(90));
    runtime.destroy(vm.id());
  }

  @Test
  void aGuestThatRebootsItselfGetsItsIdentityBack() {
    VmInfo vm = fixture.create("alice");
    var runtime = fixture.runtime();
    assertThat(run(vm, "echo kept > before-guest-reboot.txt && sync").exitCode()).isZero();
    try {
      run(vm, "sudo systemctl reboot");
    } catch (RuntimeException e) {
      // the connection may drop while the guest goes down
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(2)).ignoreExceptions().untilAsserted(() ->
        assertThat(run(vm, "cat before-guest-reboot.txt; hostname; cat /sys/class/net/eth0/address; cat /proc/uptime").stdoutText())
            .startsWith("kept\n" + vm.name() + "\n" + vm.mac() + "\n"));
    assertThat(runtime.info(vm.id()).pid()).as("same QEMU: the guest reset, the VMM did not restart").isEqualTo(vm.pid());
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.RUNNING);
    runtime.destroy(vm.id());
  }

  @Test
  void badInputIsRefusedClearlyAndLeavesNothing(@TempDir Path tmp) throws Exception {
    var runtime = fixture.runtime();
    assertThatThrownBy(() -> new VmSpec("ok-id", "Not_A_Name", "alice", RuntimeFixture.SHAPE, Ipv4.parse("10.0.0.2")))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("Not_A_Name");
    assertThatThrownBy(() -> new VmSpec("../escape", "fine", "alice", RuntimeFixture.SHAPE, Ipv4.parse("10.0.0.2")))
        .hasMessageContaining("invalid VM id");
    assertThatThrownBy(() -> runtime.create(new VmSpec("outside-net", "fine", "alice", RuntimeFixture.SHAPE, Ipv4.parse("192.0.2.7"))))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("192.0.2.7");
    assertThat(Files.exists(fixture.config().vmsDir().resolve("outside-net"))).isFalse();
    for (String verb : new String[] {"pause", "resume", "stop", "destroy"}) {
      assertThatThrownBy(() -> {
        switch (verb) {
          case "pause" -> runtime.pause("absent");
          case "resume" -> runtime.resume("absent");
          case "stop" -> runtime.stop("absent");
          default -> runtime.destroy("absent");
        }
      }).as(verb).isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    VmInfo vm = fixture.create("alice");
    var duplicate = new VmSpec(vm.id(), "other-name", "alice", RuntimeFixture.SHAPE, fixture.spec("alice").ip());
    assertThatThrownBy(() -> runtime.create(duplicate))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS));
    assertThat(runtime.info(vm.id()).state()).isEqualTo(VmState.RUNNING);

    // A truncated image is refused naming the file.
    Path broken = tmp.resolve("broken");
    Files.createDirectories(broken);
    Files.write(broken.resolve("vmlinux"), new byte[] {0x7f, 'E', 'L', 'F'});
    Files.write(broken.resolve("rootfs.img"), new byte[100]);
    Files.write(broken.resolve("initrd.img"), new byte[10]);
    assertThatThrownBy(() -> new GuestImage("0".repeat(64), broken).validate())
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("rootfs.img");
    assertThat(run(vm, "echo fine").stdoutText()).isEqualTo("fine\n");
    assertThat(runtime.list()).extracting(VmInfo::id).containsExactly(vm.id());
    runtime.destroy(vm.id());
    assertThat(runtime.network().taps()).isEmpty();
  }
}
