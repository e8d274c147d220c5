package dev.boxd.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The error of a VM that is not running once made always names a cause. */
class NotUpTest {
  private static final Instant AT = Instant.parse("2026-12-07T06:00:00Z");

  @Test
  void theWorkersReasonWithTheStatus() {
    assertThat(VmMaking.notUp(vm(VmStatus.FAILED, "start failed: tap bx0a4d0002 is busy")))
        .isEqualTo("VM r2 did not come up: start failed: tap bx0a4d0002 is busy (failed)");
  }

  @Test
  void noReasonIsNamedAsSuchNeverLeftBlank() {
    assertThat(VmMaking.notUp(vm(VmStatus.BOOTING, "")))
        .isEqualTo("VM r2 did not come up: it is booting and worker w1 reported no reason (see the server log)");
    assertThat(VmMaking.notUp(vm(VmStatus.STOPPED, "  \n")))
        .isEqualTo("VM r2 did not come up: it is stopped and worker w1 reported no reason (see the server log)");
  }

  private static Vm vm(VmStatus status, String detail) {
    return new Vm("vm-r2", "u1", "r2", 1, 512, 10, Ipv4.parse("10.77.0.2"), Ipv4.parse("127.77.0.2"), "w1", AT,
        DesiredPower.RUNNING, 0, new VmObserved(status, 0, detail, AT, 0), "", 0, "");
  }
}
