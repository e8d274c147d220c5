package dev.boxd.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The edge's host key pinned in {@code ~/.ssh/known_hosts} for every VM port of the block
 * (SPEC §12: {@code [HostName]:Port ssh-ed25519 …}), so {@code StrictHostKeyChecking=yes} needs no
 * prompt. The CLI's lines end in a comment of their own and only those are replaced; the user's
 * lines stay as they are. Pure text in, text out.
 */
final class KnownHostsPins {
  static final String MARK = "boxd-cli";

  private KnownHostsPins() {}

  /** An address the key answers for, as ssh looks it up: {@code [host]:port}. */
  record Endpoint(String host, int port) {
    String pattern() {
      return port == 22 ? host : "[" + host + "]:" + port;
    }
  }

  /**
   * {@code knownHosts} with the CLI's pins replaced by one line per endpoint for {@code hostKey}
   * ({@code ssh-ed25519 AAAA…}, any trailing comment dropped).
   */
  static String apply(String knownHosts, String hostKey, List<Endpoint> endpoints) {
    List<String> lines = new ArrayList<>();
    for (String line : knownHosts.lines().toList()) {
      if (!isOurs(line)) {
        lines.add(line);
      }
    }
    String[] key = hostKey.strip().split("\\s+");
    if (key.length >= 2) {
      Set<String> seen = new LinkedHashSet<>();
      for (Endpoint e : endpoints) {
        if (seen.add(e.pattern())) {
          lines.add(e.pattern() + " " + key[0] + " " + key[1] + " " + MARK);
        }
      }
    }
    return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
  }

  private static boolean isOurs(String line) {
    String[] fields = line.strip().split("\\s+");
    return fields.length == 4 && fields[3].equals(MARK);
  }
}
