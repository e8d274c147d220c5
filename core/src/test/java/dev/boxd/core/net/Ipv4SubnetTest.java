package dev.boxd.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Ipv4SubnetTest {
  @Test
  void parsesAndPrints() {
    var subnet = Ipv4Subnet.parse("10.77.0.0/16");
    assertThat(subnet.gateway()).hasToString("10.77.0.1");
    assertThat(subnet.broadcast()).hasToString("10.77.255.255");
    assertThat(subnet.cidrOf(Ipv4.parse("10.77.0.9"))).isEqualTo("10.77.0.9/16");
  }

  @Test
  void allocatesLowestFreeAfterGatewayUntilFull() {
    var subnet = Ipv4Subnet.parse("192.0.2.0/29");
    Set<Ipv4> used = new HashSet<>();
    for (int i = 2; i <= 6; i++) {
      Ipv4 next = subnet.allocate(used);
      assertThat(next).hasToString("192.0.2." + i);
      used.add(next);
    }
    assertThatThrownBy(() -> subnet.allocate(used)).isInstanceOf(BoxdException.class).hasMessageContaining("no free address");
    used.remove(Ipv4.parse("192.0.2.4"));
    assertThat(subnet.allocate(used)).hasToString("192.0.2.4");
  }

  @Test
  void rejectsMalformedInput() {
    assertThatThrownBy(() -> Ipv4.parse("10.1.2")).hasMessageContaining("four numbers");
    assertThatThrownBy(() -> Ipv4.parse("10.1.2.256")).hasMessageContaining("0-255");
    assertThatThrownBy(() -> Ipv4Subnet.parse("10.77.0.1/16")).hasMessageContaining("host bits");
    assertThatThrownBy(() -> Ipv4Subnet.parse("10.77.0.0")).hasMessageContaining("ADDRESS/PREFIX");
  }

  @Test
  void macFollowsAddress() {
    assertThat(Ipv4.parse("10.77.0.5").derivedMac()).isEqualTo("02:b0:0a:4d:00:05");
    assertThat(Ipv4.parse("10.77.0.5").hex()).isEqualTo("0a4d0005");
  }
}
