package dev.boxd.api.grpc;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The checks of request fields the verbs' parsers make of flags, naming the field: what reaches
 * {@code Operations} is validated, as its contract expects.
 */
final class Requests {
  private static final Pattern VM_ID = Pattern.compile("^[a-z0-9][a-z0-9-]{0,39}$");
  private static final Pattern ENV_KEY = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*$");
  static final int MAX_AUTO_SUSPEND_SECS = 30 * 24 * 3600;
  static final int MAX_VCPUS = 256;
  static final long MAX_API_KEY_LIFETIME_SECS = dev.boxd.verbs.Operations.MAX_API_KEY_LIFETIME_SECS;
  static final int MAX_MEMORY_MIB = 1024 * 1024;

  private Requests() {}

  /** A VM by name or id. */
  static String vm(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw BoxdException.invalid(field + " is required: the VM's id or name");
    }
    if (!Names.isValid(value) && !VM_ID.matcher(value).matches()) {
      throw BoxdException.invalid("invalid " + field + " " + Names.quote(value) + ": expected a VM id or name (1-63 characters of a-z,"
          + " 0-9 and '-', starting and ending with a letter or digit)");
    }
    return value;
  }

  /**
   * A VM by name or id; empty means the caller's own VM where the caller is one (the in-VM API),
   * and is refused as {@link #vm} refuses it elsewhere.
   */
  static String vmOrCurrent(String field, String value, dev.boxd.verbs.Operations caller) {
    if (value == null || value.isEmpty()) {
      Optional<String> current = caller.currentVm();
      if (current.isPresent()) {
        return current.get();
      }
    }
    return vm(field, value);
  }

  /** A name (VM, snapshot, route): a DNS label. */
  static String name(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw BoxdException.invalid(field + " is required");
    }
    return Names.requireValid(field, value);
  }

  static Optional<String> optionalName(String field, String value) {
    return value.isEmpty() ? Optional.empty() : Optional.of(name(field, value));
  }

  /** Commands and paths reach the guest as C strings. */
  static String text(String field, String value) {
    if (value.isEmpty()) {
      throw BoxdException.invalid(field + " is required");
    }
    if (value.indexOf('\0') >= 0) {
      throw BoxdException.invalid(field + " contains a NUL character: expected text without NUL");
    }
    return value;
  }

  static int port(String field, int value) {
    if (value < 1 || value > 65535) {
      throw BoxdException.invalid("invalid " + field + " " + Integer.toUnsignedString(value) + ": expected a port number from 1 to 65535");
    }
    return value;
  }

  /** {@code tcp} (also when empty) or {@code udp}. */
  static String protocol(String value) {
    String protocol = value.isEmpty() ? "tcp" : value.toLowerCase(java.util.Locale.ROOT);
    if (!protocol.equals("tcp") && !protocol.equals("udp")) {
      throw BoxdException.invalid("invalid protocol " + Names.quote(value) + ": expected tcp or udp (empty: tcp)");
    }
    return protocol;
  }

  static int autoSuspend(String field, int value) {
    if (value < 0 || value > MAX_AUTO_SUSPEND_SECS) {
      throw BoxdException.invalid("invalid " + field + " " + Integer.toUnsignedString(value) + ": expected whole seconds from 0 (off) to "
          + MAX_AUTO_SUSPEND_SECS);
    }
    return value;
  }

  static int range(String field, int value, int max, String unit) {
    if (value < 1 || value > max) {
      throw BoxdException.invalid("invalid " + field + " " + Integer.toUnsignedString(value) + ": expected " + unit + " from 1 to " + max);
    }
    return value;
  }

  static Map<String, String> env(Map<String, String> env) {
    var checked = new LinkedHashMap<String, String>();
    env.forEach((key, value) -> {
      if (!ENV_KEY.matcher(key).matches()) {
        throw BoxdException.invalid("invalid env key " + Names.quote(key) + ": expected letters, digits and '_', not starting with a digit");
      }
      if (value.indexOf('\0') >= 0) {
        throw BoxdException.invalid("env " + key + " contains a NUL character: expected text without NUL");
      }
      checked.put(key, value);
    });
    return checked;
  }
}
