package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.core.state.Quota;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An operator's change to an account's quota, as {@code boxd admin set-quota} sends it: words
 * {@code NAME=VALUE} whose names are {@link #NAMES}; limits not named keep their value.
 */
final class QuotaChange {
  /** Every limit, by the name its option and the admin protocol give it. */
  static final String NAMES = "vms, vcpus, memory-mib, disk-gb, vm-vcpus, vm-memory-mib, vm-disk-gb";

  private QuotaChange() {}

  static Quota apply(Quota current, String words) {
    Map<String, Long> values = new LinkedHashMap<>();
    for (String word : words.trim().split("\\s+")) {
      if (word.isEmpty()) {
        continue;
      }
      int eq = word.indexOf('=');
      if (eq < 1) {
        throw BoxdException.invalid("invalid quota change " + Names.quote(word) + ": expected NAME=VALUE, NAME one of " + NAMES);
      }
      values.put(word.substring(0, eq), value(word.substring(0, eq), word.substring(eq + 1)));
    }
    if (values.isEmpty()) {
      throw BoxdException.invalid("no limit to change: name at least one of " + NAMES);
    }
    long vms = values.getOrDefault("vms", (long) current.maxVms());
    long vmVcpus = values.getOrDefault("vm-vcpus", (long) current.vmVcpus());
    for (String name : values.keySet()) {
      if (!(", " + NAMES + ",").contains(", " + name + ",")) {
        throw BoxdException.invalid("unknown quota limit " + Names.quote(name) + ": expected one of " + NAMES);
      }
    }
    if (vms > Integer.MAX_VALUE || vmVcpus > Integer.MAX_VALUE) {
      throw BoxdException.invalid("a VM count or per-VM vCPU count above " + Integer.MAX_VALUE + " is not a limit");
    }
    return new Quota((int) vms, (int) vmVcpus,
        values.getOrDefault("vm-memory-mib", current.vmMemoryMib()),
        values.getOrDefault("vm-disk-gb", current.vmDiskGb()),
        values.getOrDefault("vcpus", current.totalVcpus()),
        values.getOrDefault("memory-mib", current.totalMemoryMib()),
        values.getOrDefault("disk-gb", current.totalDiskGb()));
  }

  private static long value(String name, String text) {
    try {
      long value = Long.parseLong(text);
      if (value >= 0) {
        return value;
      }
    } catch (NumberFormatException e) {
      // falls through to the message below
    }
    throw BoxdException.invalid("invalid " + name + " " + Names.quote(text) + ": expected a whole number, 0 or more");
  }
}
