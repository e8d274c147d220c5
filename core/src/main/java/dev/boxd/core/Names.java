package dev.boxd.core;

import java.util.regex.Pattern;

/** VM and snapshot names are DNS labels, so that {@code NAME.<zone>} is always a valid host name. */
public final class Names {
  private static final Pattern DNS_LABEL = Pattern.compile("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");

  private Names() {}

  public static boolean isValid(String name) {
    return name != null && DNS_LABEL.matcher(name).matches();
  }

  /** Returns the name, or throws INVALID_ARGUMENT naming the value and the rule it breaks. */
  public static String requireValid(String what, String name) {
    if (!isValid(name)) {
      throw BoxdException.invalid(
          "invalid " + what + " " + quote(name)
              + ": expected 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
    }
    return name;
  }

  /** Quotes a user-supplied value for an error message, shortened so a huge input stays readable. */
  public static String quote(String value) {
    if (value == null) {
      return "(none)";
    }
    String shown = value.length() > 80 ? value.substring(0, 77) + "..." : value;
    StringBuilder out = new StringBuilder("\"");
    for (char c : shown.toCharArray()) {
      out.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return out.append('"').toString();
  }
}
