package dev.boxd.sdk;

import java.util.List;
import java.util.regex.Pattern;

/**
 * An argv as one POSIX shell command line (Exec runs its command through a shell, SPEC §8): every
 * argument that is not plainly safe goes in single quotes, a quote inside as {@code '\''}, so the
 * shell gives the program exactly the arguments it was given.
 */
final class ShellQuote {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

  private ShellQuote() {}

  static String join(List<String> argv) {
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("the command is empty: give the program and its arguments");
    }
    StringBuilder line = new StringBuilder();
    for (String arg : argv) {
      if (line.length() > 0) {
        line.append(' ');
      }
      line.append(quote(arg));
    }
    return line.toString();
  }

  static String quote(String arg) {
    if (SAFE.matcher(arg).matches()) {
      return arg;
    }
    return "'" + arg.replace("'", "'\\''") + "'";
  }
}
