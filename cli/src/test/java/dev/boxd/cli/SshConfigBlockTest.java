package dev.boxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SshConfigBlockTest {
  private static final SshConfigBlock.Entry APP = new SshConfigBlock.Entry("app.example.dev", "203.0.113.7", 10001, "boxd", "/home/u/.config/boxd/id_ed25519");
  private static final SshConfigBlock.Entry WEB = new SshConfigBlock.Entry("web.example.dev", "203.0.113.7", 10002, "boxd", "/home/u/.config/boxd/id_ed25519");

  @Test
  void addsTheBlockAtTheEndAndKeepsEveryUserLine() {
    String mine = "Host work\n  HostName work.example.com\n  User me\n";
    String out = SshConfigBlock.apply(mine, List.of(APP));
    assertThat(out).startsWith(mine);
    assertThat(out).contains(SshConfigBlock.BEGIN + "\nHost app.example.dev\n  HostName 203.0.113.7\n  Port 10001\n  User boxd\n"
        + "  IdentityFile \"/home/u/.config/boxd/id_ed25519\"\n");
    assertThat(out).endsWith("Match all\n" + SshConfigBlock.END + "\n");
  }

  @Test
  void replacesOnlyItsOwnBlockBetweenTheUsersLines() {
    String before = "# mine, before\nHost a\n  User x\n";
    String after = "\n# mine, after\nHost b\n  User y\n";
    String first = SshConfigBlock.apply(before, List.of(APP));
    String withAfter = first + after;
    String second = SshConfigBlock.apply(withAfter, List.of(APP, WEB));
    assertThat(second).startsWith(before).endsWith(after);
    assertThat(second).contains("Host web.example.dev").contains("Port 10002");
    // the same entries again change nothing, however often
    String again = SshConfigBlock.apply(second, List.of(APP, WEB));
    assertThat(SshConfigBlock.apply(again, List.of(APP, WEB))).isEqualTo(second);
  }

  @Test
  void noVmsRemovesTheBlockAndLeavesTheRest() {
    String before = "Host a\n  User x\n";
    String with = SshConfigBlock.apply(before, List.of(APP));
    assertThat(SshConfigBlock.apply(with, List.of())).isEqualTo(before);
    assertThat(SshConfigBlock.apply("", List.of())).isEmpty();
  }
}
