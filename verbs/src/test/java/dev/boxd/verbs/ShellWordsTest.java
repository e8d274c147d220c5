package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShellWordsTest {
  @Test
  void splitsOnBlanks() {
    assertThat(ShellWords.split("  exec app  -- ls\t-la\n")).containsExactly("exec", "app", "--", "ls", "-la");
    assertThat(ShellWords.split("")).isEmpty();
    assertThat(ShellWords.split("   ")).isEmpty();
  }

  @Test
  void honoursQuotesAndBackslashes() {
    assertThat(ShellWords.split("echo 'a  b' \"c d\" e\\ f")).containsExactly("echo", "a  b", "c d", "e f");
    assertThat(ShellWords.split("'it'\\''s'")).containsExactly("it's");
    assertThat(ShellWords.split("\"say \\\"hi\\\" \\$HOME \\n\"")).containsExactly("say \"hi\" $HOME \\n");
    assertThat(ShellWords.split("a'b'\"c\"d")).containsExactly("abcd");
    assertThat(ShellWords.split("'' \"\"")).containsExactly("", "");
    assertThat(ShellWords.split("a\\\nb")).containsExactly("ab");
    assertThat(ShellWords.split("trailing\\")).containsExactly("trailing\\");
  }

  @Test
  void expandsNothing() {
    assertThat(ShellWords.split("echo $HOME *.txt ~ `x` $(y)")).containsExactly("echo", "$HOME", "*.txt", "~", "`x`", "$(y)");
  }

  @Test
  void unterminatedQuotesAreInvalid() {
    assertThatThrownBy(() -> ShellWords.split("echo 'oops")).isInstanceOf(BoxdException.class).hasMessageContaining("unterminated '");
    assertThatThrownBy(() -> ShellWords.split("echo \"oops")).isInstanceOf(BoxdException.class).hasMessageContaining("unterminated \"");
  }

  @Test
  void commandKeepsOneWordAndQuotesOnlyWordsThatCannotBeShellSyntax() {
    assertThat(ShellWords.command(List.of("make && ./run"))).isEqualTo("make && ./run");
    assertThat(ShellWords.command(List.of("exit", "7"))).isEqualTo("exit 7");
    assertThat(ShellWords.command(List.of("cd", "/tmp", "&&", "ls", "*.txt"))).isEqualTo("cd /tmp && ls *.txt");
    assertThat(ShellWords.command(List.of("sh", "-c", "echo a; echo b"))).isEqualTo("sh -c 'echo a; echo b'");
    assertThat(ShellWords.command(List.of("echo", "it's", ""))).isEqualTo("echo 'it'\\''s' ''");
    assertThat(ShellWords.command(List.of("printf", "%s\\n", "x"))).isEqualTo("printf '%s\\n' x");
  }

  @Test
  void splitThenCommandRoundTripsWhatSshSends() {
    // ssh HOST exec app -- 'echo "a  b" > f' sends the words joined by one space.
    var words = ShellWords.split("exec app -- echo \"a  b\" > f");
    assertThat(ShellWords.command(words.subList(3, words.size()))).isEqualTo("echo 'a  b' > f");
  }

  @Test
  void theCommandAfterDashDashIsKeptAsSent() {
    String script = "set -e\nfor i in 1 2; do echo \"$i\" | awk '{print $1}'; done\n";
    assertThat(ShellWords.splitKeepingCommand("exec app --json -- " + script))
        .containsExactly("exec", "app", "--json", "--", script);
    assertThat(ShellWords.splitKeepingCommand("exec app '--' echo a")).as("a quoted -- is a word like any other")
        .containsExactly("exec", "app", "--", "echo", "a");
    assertThat(ShellWords.splitKeepingCommand("exec app --   ")).containsExactly("exec", "app", "--");
    assertThat(ShellWords.splitKeepingCommand("exec app echo 'a  b'")).containsExactly("exec", "app", "echo", "a  b");
  }
}
