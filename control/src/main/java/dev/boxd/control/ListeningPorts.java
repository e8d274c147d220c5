package dev.boxd.control;

import java.util.List;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * The TCP ports a guest listens on, read from its {@code /proc/net/tcp} and {@code /proc/net/tcp6}
 * ({@code proxy set-port --port=auto}). Only sockets in LISTEN on an address reachable from
 * outside the guest count: loopback-only listeners (a database bound to 127.0.0.1) and sshd's
 * port 22 are not what a user means to publish.
 */
final class ListeningPorts {
  private static final String LISTEN = "0A";
  private static final int SSH = 22;
  /** The port a VM's default route goes to; the first choice when the guest listens on several. */
  static final int PREFERRED = 8000;

  private ListeningPorts() {}

  /** The listening ports in the text of {@code /proc/net/tcp} and {@code tcp6} (any number of both), sorted. */
  static List<Integer> parse(String procNetTcp) {
    TreeSet<Integer> ports = new TreeSet<>();
    for (String line : procNetTcp.split("\n")) {
      String[] fields = line.trim().split("\\s+");
      // "sl local_address rem_address st ...": the header and anything malformed are skipped
      if (fields.length < 4 || !fields[0].endsWith(":") || !fields[3].equalsIgnoreCase(LISTEN)) {
        continue;
      }
      int colon = fields[1].indexOf(':');
      if (colon < 0) {
        continue;
      }
      String address = fields[1].substring(0, colon);
      int port;
      try {
        port = Integer.parseInt(fields[1].substring(colon + 1), 16);
      } catch (NumberFormatException e) {
        continue;
      }
      if (port != SSH && !loopback(address)) {
        ports.add(port);
      }
    }
    return List.copyOf(ports);
  }

  /** The port to route to: {@link #PREFERRED} if listened on, else the lowest; empty when none. */
  static OptionalInt choose(List<Integer> ports) {
    if (ports.contains(PREFERRED)) {
      return OptionalInt.of(PREFERRED);
    }
    return ports.isEmpty() ? OptionalInt.empty() : OptionalInt.of(ports.getFirst());
  }

  // /proc writes addresses as hex of the in-memory words: 127.0.0.1 is 0100007F; ::1 is
  // 00000000000000000000000001000000; an IPv4-mapped 127.x is 0000000000000000FFFF0000xx00007F.
  private static boolean loopback(String hex) {
    if (hex.length() == 8) {
      return hex.toUpperCase().endsWith("7F");
    }
    if (hex.length() == 32) {
      String upper = hex.toUpperCase();
      return upper.equals("00000000000000000000000001000000")
          || (upper.startsWith("0000000000000000FFFF0000") && upper.endsWith("7F"));
    }
    return false;
  }
}
