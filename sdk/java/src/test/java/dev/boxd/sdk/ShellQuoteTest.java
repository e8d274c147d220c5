package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShellQuoteTest {
  @Test
  void plainArgumentsStayAndOthersAreSingleQuoted() {
    assertThat(ShellQuote.join(List.of("ls", "-l", "/home/boxd"))).isEqualTo("ls -l /home/boxd");
    assertThat(ShellQuote.join(List.of("sh", "-c", "echo $HOME; exit 3"))).isEqualTo("sh -c 'echo $HOME; exit 3'");
    assertThat(ShellQuote.join(List.of("printf", "%s", "it's"))).isEqualTo("printf %s 'it'\\''s'");
    assertThat(ShellQuote.join(List.of("echo", ""))).isEqualTo("echo ''");
  }

  @Test
  void aRealShellGivesTheProgramExactlyTheArguments() throws Exception {
    String line = ShellQuote.join(List.of("printf", "[%s]", "a b", "it's", "$HOME", "\"q\"", "*", "x\\y", "a\nb"));
    Process sh = new ProcessBuilder("sh", "-c", line).redirectErrorStream(true).start();
    String out = new String(sh.getInputStream().readAllBytes());
    assertThat(sh.waitFor()).isZero();
    assertThat(out).isEqualTo("[a b][it's][$HOME][\"q\"][*][x\\y][a\nb]");
  }

  @Test
  void anEmptyArgvIsRefused() {
    assertThatThrownBy(() -> ShellQuote.join(List.of())).hasMessageContaining("empty");
  }
}
