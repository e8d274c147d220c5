package dev.boxd.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * The block the CLI keeps in {@code ~/.ssh/config} (SPEC §12): one {@code Host NAME.<zone>} entry per
 * VM, between two marker lines. Only the block is ever rewritten: every line before and after it
 * stays byte for byte as the user wrote it. Pure text in, text out.
 */
final class SshConfigBlock {
  static final String BEGIN = "# >>> boxd: VMs of the boxd CLI (rewritten by it; edit outside this block) >>>";
  static final String END = "# <<< boxd <<<";

  /** One VM's entry: what {@code ssh ALIAS} connects to, and with which key. */
  record Entry(String alias, String hostName, int port, String user, String identityFile) {}

  private SshConfigBlock() {}

  /** {@code config} with its block replaced by one holding {@code entries} (added at the end if it had none; removed if no entries). */
  static String apply(String config, List<Entry> entries) {
    List<String> lines = new ArrayList<>(config.lines().toList());
    int begin = lines.indexOf(BEGIN);
    int end = begin < 0 ? -1 : lines.subList(begin, lines.size()).indexOf(END);
    List<String> block = render(entries);
    if (begin >= 0 && end >= 0) {
      boolean last = begin + end + 1 == lines.size();
      lines.subList(begin, begin + end + 1).clear();
      if (block.isEmpty() && last && begin > 0 && lines.get(begin - 1).isBlank()) {
        lines.remove(begin - 1); // the blank line put before the block when it was added at the end
      } else {
        lines.addAll(begin, block);
      }
    } else if (!block.isEmpty()) {
      // Host entries apply until the next Host line: at the end, the block cannot capture the user's own lines.
      if (!lines.isEmpty() && !lines.getLast().isBlank()) {
        lines.add("");
      }
      lines.addAll(block);
    }
    if (lines.isEmpty()) {
      return "";
    }
    return String.join("\n", lines) + "\n";
  }

  private static List<String> render(List<Entry> entries) {
    if (entries.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    out.add(BEGIN);
    for (Entry e : entries) {
      out.add("Host " + e.alias());
      out.add("  HostName " + e.hostName());
      out.add("  Port " + e.port());
      out.add("  User " + e.user());
      out.add("  IdentityFile \"" + e.identityFile() + "\"");
      out.add("  IdentitiesOnly yes");
    }
    // A Match line ends the last Host section, so a user's lines appended after the block apply to all hosts again.
    out.add("Match all");
    out.add(END);
    return out;
  }
}
