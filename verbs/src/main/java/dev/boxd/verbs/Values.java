package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Flag and argument values: each parser names the bad value and what was expected. */
final class Values {
  private static final Pattern VM_ID = Pattern.compile("^[a-z0-9][a-z0-9-]{0,39}$");
  private static final Pattern SIZE = Pattern.compile("^([0-9]{1,9})(?:([mMgGtT])(?:i?[bB])?)?$");
  private static final Pattern COUNT = Pattern.compile("^[0-9]{1,9}$");
  private static final Pattern ENV_KEY = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*$");
  static final int MAX_MEMORY_MIB = 1024 * 1024;
  static final int MAX_VCPUS = 256;
  static final long MAX_TIMEOUT_SECS = 366L * 24 * 3600;

  private Values() {}

  /** A VM addressed by name (a DNS label) or by id. */
  static String vmRef(String ref) {
    if (isVmRef(ref)) {
      return ref;
    }
    throw BoxdException.invalid("invalid VM name " + Names.quote(ref)
        + ": expected a VM name (1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit) or a VM id");
  }

  /** Whether {@code ref} could name a VM: a name or an id. */
  static boolean isVmRef(String ref) {
    return Names.isValid(ref) || (ref != null && VM_ID.matcher(ref).matches());
  }

  /** MiB from {@code 1024}, {@code 512M}, {@code 2G}, {@code 2GiB}, {@code 1T}. */
  static int memoryMib(String flag, String value) {
    Matcher m = SIZE.matcher(value);
    String expected = ": expected a size in MiB like 1024, 512M or 2G";
    if (!m.matches()) {
      throw BoxdException.invalid("invalid --" + flag + " " + Names.quote(value) + expected);
    }
    long mib = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "m" : m.group(2).toLowerCase(java.util.Locale.ROOT);
    mib *= switch (unit) {
      case "g" -> 1024L;
      case "t" -> 1024L * 1024;
      default -> 1L;
    };
    if (mib < 1 || mib > MAX_MEMORY_MIB) {
      throw BoxdException.invalid("invalid --" + flag + " " + Names.quote(value) + ": expected between 1M and 1T");
    }
    return (int) mib;
  }

  static int vcpus(String flag, String value) {
    if (!COUNT.matcher(value).matches() || Long.parseLong(value) < 1 || Long.parseLong(value) > MAX_VCPUS) {
      throw BoxdException.invalid("invalid --" + flag + " " + Names.quote(value) + ": expected a whole number from 1 to " + MAX_VCPUS);
    }
    return Integer.parseInt(value);
  }

  static Duration seconds(String flag, String value) {
    if (!COUNT.matcher(value).matches() || Long.parseLong(value) < 1 || Long.parseLong(value) > MAX_TIMEOUT_SECS) {
      throw BoxdException.invalid("invalid --" + flag + " " + Names.quote(value) + ": expected a whole number of seconds, at least 1");
    }
    return Duration.ofSeconds(Long.parseLong(value));
  }

  /** Longest auto-suspend timeout: 30 days. */
  static final int MAX_AUTO_SUSPEND_SECS = 30 * 24 * 3600;

  /** An auto-suspend timeout in whole seconds; 0 means off. */
  static int autoSuspend(String what, String value) {
    if (!COUNT.matcher(value).matches() || Long.parseLong(value) > MAX_AUTO_SUSPEND_SECS) {
      throw BoxdException.invalid("invalid " + what + " " + Names.quote(value) + ": expected whole seconds from 0 (off) to "
          + MAX_AUTO_SUSPEND_SECS);
    }
    return Integer.parseInt(value);
  }

  /** {@code KEY=VAL} pairs of {@code -e}; a later KEY wins. */
  static Map<String, String> env(List<String> pairs) {
    var env = new LinkedHashMap<String, String>();
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || !ENV_KEY.matcher(pair.substring(0, eq)).matches()) {
        throw BoxdException.invalid("invalid -e " + Names.quote(pair)
            + ": expected KEY=VALUE with KEY made of letters, digits and '_', not starting with a digit");
      }
      noNul("-e " + pair.substring(0, eq), pair);
      env.put(pair.substring(0, eq), pair.substring(eq + 1));
    }
    return env;
  }

  private static final Pattern PORT = Pattern.compile("^[0-9]{1,5}$");

  /** A TCP or UDP port, 1 to 65535. */
  static int port(String what, String value) {
    if (value == null || !PORT.matcher(value).matches() || Integer.parseInt(value) < 1 || Integer.parseInt(value) > 65535) {
      throw BoxdException.invalid("invalid " + what + " " + Names.quote(value) + ": expected a port number from 1 to 65535");
    }
    return Integer.parseInt(value);
  }

  /** The name of an HTTPS route: a DNS label, the SUB of {@code SUB.NAME.<zone>}. */
  static String routeName(String value) {
    if (!Names.isValid(value)) {
      throw BoxdException.invalid("invalid route name " + Names.quote(value)
          + ": expected a DNS label (1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit), the SUB of"
          + " SUB.NAME.<zone>");
    }
    return value;
  }

  /** Commands and paths reach the guest as C strings. */
  static String noNul(String what, String value) {
    if (value.indexOf('\0') >= 0) {
      throw BoxdException.invalid(what + " contains a NUL character: expected text without NUL");
    }
    return value;
  }
}
