package dev.boxd.ssh;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.ShellWords;
import dev.boxd.verbs.Terminal;
import dev.boxd.verbs.Verbs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The {@code boxd>} prompt: the verbs, one line at a time, until exit or the end of input. */
final class Prompt {
  static final String PROMPT = "boxd> ";
  private static final Set<String> EXIT = Set.of("exit", "quit", "logout");

  /** Runs one verb; the caller arranges for Ctrl-C to interrupt it. */
  interface Runner {
    int run(List<String> argv);
  }

  private Prompt() {}

  static String banner() {
    return "boxd " + Verbs.version() + ": forkable microVMs. Type help for the verbs, exit to leave.\n";
  }

  /** The error for a prompt line over {@code limit} bytes: nothing of it runs. */
  static BoxdException lineTooLong(int limit) {
    return BoxdException.invalid("line is longer than the prompt's limit of " + limit
        + " bytes; nothing was run. Shorten the command (copy long input in with cp)");
  }

  static int run(Terminal terminal, Runner runner) throws IOException {
    terminal.out().write(banner().getBytes(StandardCharsets.UTF_8));
    while (true) {
      Optional<String> line;
      try {
        line = terminal.readLine(PROMPT);
      } catch (BoxdException e) { // a line too long: refused whole, and the prompt goes on
        Verbs.report(terminal, false, e.code(), e.getMessage());
        continue;
      }
      if (line.isEmpty()) {
        terminal.out().write('\n');
        return 0;
      }
      List<String> words;
      try {
        words = ShellWords.split(line.get());
      } catch (BoxdException e) {
        Verbs.report(terminal, false, e.code(), e.getMessage());
        continue;
      }
      if (words.isEmpty()) {
        continue;
      }
      if (EXIT.contains(words.getFirst()) && words.size() == 1) {
        return 0;
      }
      runner.run(words);
    }
  }
}
