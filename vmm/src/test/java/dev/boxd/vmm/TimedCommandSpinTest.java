package dev.boxd.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TimedCommandSpinTest {
  @Test
  void pollsForAReplyOnlyWithCoresToSpare() {
    assertEquals(Duration.ZERO, QemuVm.timedCommandSpin(1));
    assertEquals(Duration.ZERO, QemuVm.timedCommandSpin(QemuVm.SPIN_MIN_CPUS - 1));
    assertEquals(Duration.ofMillis(3), QemuVm.timedCommandSpin(QemuVm.SPIN_MIN_CPUS));
    assertEquals(Duration.ofMillis(3), QemuVm.timedCommandSpin(64));
  }
}
