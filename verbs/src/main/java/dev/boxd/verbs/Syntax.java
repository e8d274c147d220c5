package dev.boxd.verbs;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * How a verb is written: its names, positional arguments and flags, and the help text made from
 * them. The parser ({@link Args#parse}) and the help ({@link #help()}) read the same record, so
 * they cannot disagree.
 *
 * @param required positional arguments that must be given, in order (e.g. {@code NAME})
 * @param optional positional arguments that may follow them (e.g. {@code [VERB]})
 * @param command whether the words after the required positionals are a command (exec): once the
 *     first of them is seen, nothing after it is parsed as a flag
 */
record Syntax(String name, List<String> aliases, String summary, List<String> required, List<String> optional,
    boolean command, List<Flag> flags, String description) {

  /**
   * A flag; {@code valueName} is null for a switch.
   *
   * @param shortName one letter, or null
   */
  record Flag(String name, String shortName, String valueName, boolean repeatable, String help) {
    static Flag bool(String name, String help) {
      return new Flag(name, null, null, false, help);
    }

    static Flag value(String name, String valueName, String help) {
      return new Flag(name, null, valueName, false, help);
    }

    boolean takesValue() {
      return valueName != null;
    }

    String display() {
      String longForm = "--" + name + (takesValue() ? "=" + valueName : "");
      if (shortName == null) {
        return longForm;
      }
      return "-" + shortName + (takesValue() ? " " + valueName : "") + ", " + longForm;
    }
  }

  static final Flag JSON = Flag.bool("json", "print one JSON document on stdout (errors too)");
  static final Flag HELP = new Flag("help", "h", null, false, "show this help");

  Syntax {
    aliases = List.copyOf(aliases);
    required = List.copyOf(required);
    optional = List.copyOf(optional);
    flags = List.copyOf(Stream.concat(flags.stream(), Stream.of(HELP)).toList());
  }

  /**
   * The same syntax under another name, without aliases and with its required positionals named
   * anew: a short verb reused as a noun's sub-verb ({@code machine stop VM}).
   */
  Syntax renamed(String newName, List<String> newRequired) {
    return new Syntax(newName, List.of(), summary, newRequired, optional, command, flags.stream().filter(f -> f != HELP).toList(),
        description);
  }

  boolean answersTo(String word) {
    return name.equals(word) || aliases.contains(word);
  }

  Optional<Flag> longFlag(String flagName) {
    return flags.stream().filter(f -> f.name().equals(flagName)).findFirst();
  }

  Optional<Flag> shortFlag(String letter) {
    return flags.stream().filter(f -> letter.equals(f.shortName())).findFirst();
  }

  /** {@code exec NAME [--] CMD...} */
  String usage() {
    var parts = new ArrayList<String>();
    parts.add(name);
    parts.addAll(required);
    optional.forEach(o -> parts.add("[" + o + "]"));
    if (command) {
      parts.add("[--] CMD...");
    }
    return String.join(" ", parts);
  }

  /** Names as listed in help: {@code list, ls}. */
  String names() {
    return Stream.concat(Stream.of(name), aliases.stream()).reduce((a, b) -> a + ", " + b).orElseThrow();
  }

  String flagList() {
    return flags.stream().filter(f -> f != HELP).map(f -> f.shortName() != null ? "-" + f.shortName() : "--" + f.name())
        .reduce((a, b) -> a + ", " + b).orElse("none");
  }

  String help() {
    var out = new StringBuilder();
    out.append("Usage: ").append(name).append(" [FLAGS]").append(usage().substring(name.length())).append('\n');
    if (!aliases.isEmpty()) {
      out.append("Also: ").append(String.join(", ", aliases)).append('\n');
    }
    out.append('\n').append(summary).append(".\n");
    if (!description.isEmpty()) {
      out.append(description).append('\n');
    }
    out.append("\nFlags:\n");
    int width = flags.stream().mapToInt(f -> f.display().length()).max().orElse(0);
    for (Flag f : flags) {
      out.append("  ").append(pad(f.display(), width)).append("  ").append(f.help())
          .append(f.repeatable() ? " (repeatable)" : "").append('\n');
    }
    return out.toString();
  }

  static String pad(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
