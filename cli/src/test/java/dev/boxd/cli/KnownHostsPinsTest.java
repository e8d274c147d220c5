package dev.boxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class KnownHostsPinsTest {
  private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq7 edge@boxd";

  @Test
  void pinsEveryPortAsSshLooksItUpAndKeepsTheUsersLines() {
    String mine = "github.com ssh-ed25519 AAAAgithub\n[127.0.0.1]:2222 ssh-ed25519 AAAAother\n";
    String out = KnownHostsPins.apply(mine, KEY, List.of(new KnownHostsPins.Endpoint("203.0.113.7", 10001),
        new KnownHostsPins.Endpoint("203.0.113.7", 10002), new KnownHostsPins.Endpoint("203.0.113.7", 10001)));
    assertThat(out).startsWith(mine);
    assertThat(out.lines().filter(l -> l.endsWith(" " + KnownHostsPins.MARK)).toList()).containsExactly(
        "[203.0.113.7]:10001 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq7 boxd-cli",
        "[203.0.113.7]:10002 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq7 boxd-cli");
  }

  @Test
  void replacesItsOwnPinsOnlyAndCanRemoveThem() {
    String mine = "github.com ssh-ed25519 AAAAgithub\n";
    String pinned = KnownHostsPins.apply(mine, KEY, List.of(new KnownHostsPins.Endpoint("203.0.113.7", 10001)));
    String moved = KnownHostsPins.apply(pinned, KEY, List.of(new KnownHostsPins.Endpoint("203.0.113.7", 10003)));
    assertThat(moved).isEqualTo(mine + "[203.0.113.7]:10003 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq7 boxd-cli\n");
    assertThat(KnownHostsPins.apply(moved, "", List.of())).isEqualTo(mine);
  }
}
