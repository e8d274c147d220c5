package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DefaultRouteTest {
  static final String HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

  @Test
  void theGatewayOfTheDefaultRouteInHostByteOrder() {
    String routes = HEADER
        + "eth0\t00000000\t0100640A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        + "eth0\t0000640A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    assertThat(DefaultRoute.gateway(routes)).hasValueSatisfying(a -> assertThat(a.getHostAddress()).isEqualTo("10.100.0.1"));
  }

  @Test
  void ofSeveralDefaultRoutesTheLowestMetricWins() {
    String routes = HEADER
        + "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
        + "eth0\t00000000\t0100640A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
        + "eth1\t00000000\t01010101\t0003\t0\t0\t200\t00000000\t0\t0\t0\n";
    assertThat(DefaultRoute.gateway(routes)).hasValueSatisfying(a -> assertThat(a.getHostAddress()).isEqualTo("10.100.0.1"));
  }

  @Test
  void routesThatAreDownHaveNoGatewayOrAreNotDefaultAreIgnored() {
    String routes = HEADER
        + "eth0\t00000000\t0100640A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n" // not up
        + "eth0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n" // on-link, no gateway
        + "eth0\t0000640A\t0100640A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"; // a subnet's route
    assertThat(DefaultRoute.gateway(routes)).isEmpty();
    assertThat(DefaultRoute.gateway("")).isEmpty();
    assertThat(DefaultRoute.gateway(HEADER)).isEmpty();
  }
}
