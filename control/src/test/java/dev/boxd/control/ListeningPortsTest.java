package dev.boxd.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ListeningPortsTest {
  private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

  @Test
  void listenersOnEveryAddressCountButSshLoopbackAndConnectionsDoNot() {
    String tcp = HEADER
        + "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        + "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   110        0 2\n"
        + "   2: 0500A8C0:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3\n"
        + "   3: 0500A8C0:0016 0100A8C0:D431 01 00000000:00000000 02:000A7B1E 00000000     0        0 4\n";
    String tcp6 = HEADER
        + "   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 0:0 00:0 0 1000 0 5\n"
        + "   1: 0000000000000000FFFF00000100007F:0BB9 00000000000000000000000000000000:0000 0A 0:0 00:0 0 1000 0 6\n"
        + "   2: 00000000000000000000000000000000:0BBA 00000000000000000000000000000000:0000 0A 0:0 00:0 0 1000 0 7\n";

    List<Integer> ports = ListeningPorts.parse(tcp + "\n" + tcp6);

    assertThat(ports).containsExactly(3002, 8000);
    assertThat(ListeningPorts.choose(ports)).hasValue(8000);
    assertThat(ListeningPorts.choose(List.of(3002, 5000))).hasValue(3002);
    assertThat(ListeningPorts.choose(List.of())).isEmpty();
    assertThat(ListeningPorts.parse("garbage\n\n  x: y z 0A")).isEmpty();
  }
}
