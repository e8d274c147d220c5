package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import java.util.ArrayList;
import java.util.List;

/**
 * Command lines as a POSIX shell splits them, for transports that receive one string (an SSH exec
 * request, a line at the {@code boxd>} prompt); and the reverse for exec, whose command words are
 * handed to a shell in the VM.
 */
public final class ShellWords {
  private ShellWords() {}

  /**
   * Splits on unquoted blanks; honours single quotes, double quotes (where a backslash escapes
   * {@code $ ` " \} and newline only) and backslashes. No expansion of any kind: {@code $HOME} and
   * {@code *} stay as written. Throws INVALID_ARGUMENT for an unterminated quote.
   */
  public static List<String> split(String line) {
    return split(line, false);
  }

  /**
   * Like {@link #split}, except that everything after the first unquoted {@code --} word is kept
   * verbatim as one last word: the command of {@code exec NAME -- CMD} arrives as the shell in the
   * VM should see it, newlines and quoting included, just as {@code ssh host CMD} hands CMD to the
   * remote shell.
   */
  public static List<String> splitKeepingCommand(String line) {
    return split(line, true);
  }

  private static List<String> split(String line, boolean keepCommand) {
    var words = new ArrayList<String>();
    var word = new StringBuilder();
    boolean inWord = false;
    boolean quoted = false;
    int i = 0;
    int n = line.length();
    while (i < n) {
      char c = line.charAt(i);
      switch (c) {
        case ' ', '\t', '\n', '\r' -> {
          if (inWord) {
            words.add(word.toString());
            if (keepCommand && !quoted && word.toString().equals("--")) {
              String command = line.substring(i + 1).stripLeading();
              if (!command.isBlank()) {
                words.add(command);
              }
              return words;
            }
            word.setLength(0);
            inWord = false;
            quoted = false;
          }
          i++;
        }
        case '\'' -> {
          int end = line.indexOf('\'', i + 1);
          if (end < 0) {
            throw BoxdException.invalid("unterminated ' quote in the command line: expected a closing '");
          }
          word.append(line, i + 1, end);
          inWord = true;
          quoted = true;
          i = end + 1;
        }
        case '"' -> {
          i = doubleQuoted(line, i + 1, word);
          inWord = true;
          quoted = true;
        }
        case '\\' -> {
          quoted = true;
          if (i + 1 < n) {
            if (line.charAt(i + 1) != '\n') {
              word.append(line.charAt(i + 1));
              inWord = true;
            }
            i += 2;
          } else {
            word.append('\\');
            inWord = true;
            i++;
          }
        }
        default -> {
          word.append(c);
          inWord = true;
          i++;
        }
      }
    }
    if (inWord) {
      words.add(word.toString());
    }
    return words;
  }

  // Returns the index after the closing quote.
  private static int doubleQuoted(String line, int from, StringBuilder word) {
    int i = from;
    while (i < line.length()) {
      char c = line.charAt(i);
      if (c == '"') {
        return i + 1;
      }
      if (c == '\\' && i + 1 < line.length() && "$`\"\\\n".indexOf(line.charAt(i + 1)) >= 0) {
        if (line.charAt(i + 1) != '\n') {
          word.append(line.charAt(i + 1));
        }
        i += 2;
      } else {
        word.append(c);
        i++;
      }
    }
    throw BoxdException.invalid("unterminated \" quote in the command line: expected a closing \"");
  }

  /**
   * The shell command for exec's command words. One word is the command line itself
   * ({@code exec app -- 'make && ./run'}). Several are joined with spaces, as ssh does, so shell
   * syntax in them still works ({@code exec app -- cd /tmp '&&' ls}); a word that cannot have
   * been meant as shell syntax (empty, or holding blanks, quotes or backslashes) is quoted, so
   * {@code exec app -- sh -c 'echo a; echo b'} runs what it says.
   */
  public static String command(List<String> words) {
    if (words.size() == 1) {
      return words.getFirst();
    }
    var out = new StringBuilder();
    for (String w : words) {
      if (!out.isEmpty()) {
        out.append(' ');
      }
      out.append(needsQuotes(w) ? quote(w) : w);
    }
    return out.toString();
  }

  private static boolean needsQuotes(String word) {
    if (word.isEmpty()) {
      return true;
    }
    for (int i = 0; i < word.length(); i++) {
      char c = word.charAt(i);
      if (Character.isWhitespace(c) || c == '\'' || c == '"' || c == '\\') {
        return true;
      }
    }
    return false;
  }

  /** Single-quotes a word for a POSIX shell. */
  public static String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'";
  }
}
