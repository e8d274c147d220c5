package dev.boxd.verbs;

import java.util.ArrayList;
import java.util.List;

/** Text rendering: tables, key/value blocks, and values made safe to print on a terminal. */
final class Text {
  private Text() {}

  /**
   * A value for a terminal: null becomes "-", control characters (C0, DEL, C1: a terminal would act
   * on them) become {@code \xNN} or {@code \\uNNNN} escapes.
   */
  static String safe(String value) {
    if (value == null || value.isEmpty()) {
      return "-";
    }
    return escapeControls(value);
  }

  static String escapeControls(String value) {
    StringBuilder out = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
      if (control && out == null) {
        out = new StringBuilder(value.substring(0, i));
      }
      if (out != null) {
        out.append(!control ? String.valueOf(c) : c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
      }
    }
    return out == null ? value : out.toString();
  }

  /** Columns padded to the widest cell, two spaces apart; no trailing blanks. */
  static String table(List<String> header, List<List<String>> rows) {
    var all = new ArrayList<List<String>>();
    all.add(header);
    rows.forEach(r -> all.add(r.stream().map(Text::safe).toList()));
    int[] widths = new int[header.size()];
    for (var row : all) {
      for (int c = 0; c < row.size(); c++) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    var out = new StringBuilder();
    for (var row : all) {
      var line = new StringBuilder();
      for (int c = 0; c < row.size(); c++) {
        line.append(c == row.size() - 1 ? row.get(c) : Syntax.pad(row.get(c), widths[c] + 2));
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
    return out.toString();
  }

  /** {@code key:   value} lines, values aligned. */
  static String block(List<String[]> pairs) {
    int width = pairs.stream().mapToInt(p -> p[0].length()).max().orElse(0) + 1;
    var out = new StringBuilder();
    for (String[] p : pairs) {
      out.append(Syntax.pad(p[0] + ":", width + 1)).append(safe(p[1])).append('\n');
    }
    return out.toString();
  }

  static String forked(Operations.ForkView fork) {
    var rows = new java.util.ArrayList<>(vmRows(fork.vm()));
    rows.add(new String[] {"forked from", fork.forkedFrom()});
    return block(rows);
  }

  static String vm(Operations.VmView vm) {
    return block(vmRows(vm));
  }

  private static List<String[]> vmRows(Operations.VmView vm) {
    List<String[]> rows = new java.util.ArrayList<>(List.of(
        new String[] {"name", vm.name()},
        new String[] {"id", vm.id()},
        new String[] {"status", vm.status()},
        new String[] {"ip", vm.ip()},
        new String[] {"public ip", vm.publicIp()},
        new String[] {"image", vm.image()},
        new String[] {"url", vm.url()},
        new String[] {"vcpu", Integer.toString(vm.vcpus())},
        new String[] {"memory", vm.memoryMib() + " MiB"},
        new String[] {"disk", vm.diskGb() + " GB"},
        new String[] {"boot time", vm.bootTimeMs() + " ms"},
        new String[] {"created", vm.createdAt()},
        new String[] {"auto-suspend", autoSuspend(vm.autoSuspendSecs())},
        new String[] {"isolated", vm.isolated() ? "yes: no traffic with other VMs, no boxd CLI inside" : "no"},
        new String[] {"ssh", vm.ssh()}));
    if (!vm.detail().isEmpty()) {
      rows.add(new String[] {"detail", vm.detail()});
    }
    vm.egress().ifPresent(traffic -> rows.add(new String[] {"internet", traffic.bytesOut() + " bytes out, " + traffic.bytesIn() + " bytes in"}));
    return rows;
  }

  /** {@code after 30 s idle}, or {@code off}. */
  static String autoSuspend(int seconds) {
    return seconds == 0 ? "off" : "after " + seconds + " s idle";
  }

  /** Microseconds as milliseconds with three decimals. */
  static String micros(long us) {
    return String.format("%d.%03d ms", us / 1000, us % 1000);
  }
}
