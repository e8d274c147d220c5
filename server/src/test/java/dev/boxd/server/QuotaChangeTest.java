package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Quota;
import org.junit.jupiter.api.Test;

class QuotaChangeTest {
  @Test
  void namedLimitsChangeAndTheOthersStay() {
    Quota changed = QuotaChange.apply(Quota.STANDARD, "vms=20 vm-memory-mib=16384 memory-mib=163840");
    assertThat(changed).isEqualTo(new Quota(20, 2, 16384, 100, 20, 163840, 1000));
  }

  @Test
  void badChangesAreRefusedNamingTheWord() {
    assertThatThrownBy(() -> QuotaChange.apply(Quota.STANDARD, "ram=5"))
        .isInstanceOf(BoxdException.class).hasMessageContaining("unknown quota limit \"ram\"").hasMessageContaining("vm-memory-mib");
    assertThatThrownBy(() -> QuotaChange.apply(Quota.STANDARD, "vms=-1"))
        .hasMessageContaining("invalid vms \"-1\": expected a whole number, 0 or more");
    assertThatThrownBy(() -> QuotaChange.apply(Quota.STANDARD, "vms"))
        .hasMessageContaining("expected NAME=VALUE");
    assertThatThrownBy(() -> QuotaChange.apply(Quota.STANDARD, " "))
        .satisfies(e -> assertThat(((BoxdException) e).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("no limit to change");
  }

  @Test
  void theHostsMemoryIsMemTotal() {
    assertThat(HostMemory.parseTotalMib("MemTotal:       24683748 kB\nMemFree:        23378388 kB\n")).isEqualTo(24105);
    assertThat(HostMemory.totalMib()).isGreaterThan(Runtime.getRuntime().maxMemory() >> 20);
  }
}
