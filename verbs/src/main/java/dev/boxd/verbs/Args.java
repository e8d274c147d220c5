package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.verbs.Syntax.Flag;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A verb's arguments after parsing: flag values by long name, positionals, and exec's command
 * words. Parsing is strict: an unknown flag, a missing value, a repeated single-valued flag, or a
 * wrong number of positionals is INVALID_ARGUMENT naming what was given and what was expected.
 */
record Args(Map<String, List<String>> flags, List<String> positionals, List<String> command) {

  boolean has(String flag) {
    return flags.containsKey(flag);
  }

  Optional<String> value(String flag) {
    return Optional.ofNullable(flags.get(flag)).map(List::getLast);
  }

  List<String> values(String flag) {
    return flags.getOrDefault(flag, List.of());
  }

  Optional<String> positional(int index) {
    return index < positionals.size() ? Optional.of(positionals.get(index)) : Optional.empty();
  }

  static Args parse(Syntax syntax, List<String> argv) {
    var flags = new LinkedHashMap<String, List<String>>();
    var positionals = new ArrayList<String>();
    List<String> command = List.of();
    boolean flagsDone = false;
    for (int i = 0; i < argv.size(); i++) {
      String a = argv.get(i);
      boolean atCommand = syntax.command() && positionals.size() == syntax.required().size();
      if (atCommand && (flagsDone || !a.startsWith("-") || a.equals("-"))) {
        command = List.copyOf(argv.subList(i, argv.size()));
        break;
      }
      if (flagsDone || !a.startsWith("-") || a.equals("-")) {
        positionals.add(a);
      } else if (a.equals("--")) {
        flagsDone = true;
      } else if (a.startsWith("--")) {
        int eq = a.indexOf('=');
        String name = a.substring(2, eq < 0 ? a.length() : eq);
        Flag flag = syntax.longFlag(name).orElseThrow(() -> unknownFlag(syntax, a));
        if (!flag.takesValue() && eq >= 0) {
          throw BoxdException.invalid("--" + name + " takes no value, got " + Names.quote(a) + " (see: help " + syntax.name() + ")");
        }
        String value = null;
        if (flag.takesValue()) {
          if (eq >= 0) {
            value = a.substring(eq + 1);
          } else if (i + 1 < argv.size()) {
            value = argv.get(++i);
          } else {
            throw needsValue(syntax, flag);
          }
        }
        add(syntax, flags, flag, value);
      } else {
        String letter = a.substring(1, 2);
        Flag flag = syntax.shortFlag(letter).orElseThrow(() -> unknownFlag(syntax, a));
        String value = null;
        if (flag.takesValue()) {
          if (a.length() > 2) {
            value = a.substring(2);
          } else if (i + 1 < argv.size()) {
            value = argv.get(++i);
          } else {
            throw needsValue(syntax, flag);
          }
        } else if (a.length() > 2) {
          throw unknownFlag(syntax, a);
        }
        add(syntax, flags, flag, value);
      }
    }
    if (flags.containsKey("help")) {
      return new Args(flags, positionals, command);
    }
    if (positionals.size() < syntax.required().size()) {
      throw missing(syntax, positionals.size());
    }
    int max = syntax.required().size() + syntax.optional().size();
    if (positionals.size() > max) {
      throw BoxdException.invalid("unexpected argument " + Names.quote(positionals.get(max)) + ": expected " + syntax.usage());
    }
    if (syntax.command() && command.isEmpty()) {
      throw BoxdException.invalid("missing command: expected " + syntax.usage());
    }
    return new Args(flags, List.copyOf(positionals), command);
  }

  private static void add(Syntax syntax, Map<String, List<String>> flags, Flag flag, String value) {
    var values = flags.computeIfAbsent(flag.name(), k -> new ArrayList<>());
    if (!values.isEmpty() && flag.takesValue() && !flag.repeatable()) {
      throw BoxdException.invalid("--" + flag.name() + " given twice: expected it at most once (see: help " + syntax.name() + ")");
    }
    if (value != null) {
      values.add(value);
    }
  }

  private static BoxdException missing(Syntax syntax, int index) {
    return BoxdException.invalid("missing " + syntax.required().get(index) + ": expected " + syntax.usage());
  }

  private static BoxdException unknownFlag(Syntax syntax, String given) {
    return BoxdException.invalid("unknown flag " + Names.quote(given) + " for " + syntax.name()
        + ": expected " + syntax.flagList() + " (see: help " + syntax.name() + ")");
  }

  private static BoxdException needsValue(Syntax syntax, Flag flag) {
    return BoxdException.invalid("--" + flag.name() + " needs a value: expected --" + flag.name() + "=" + flag.valueName()
        + " (see: help " + syntax.name() + ")");
  }
}
