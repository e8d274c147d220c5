package dev.boxd.sdk;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * The gateway of the default route in the text of {@code /proc/net/route}: inside a boxd VM that
 * is the host's end of the VM's link, where the in-VM API listens. Of several default routes the
 * one with the lowest metric wins, as the kernel picks it. Addresses there are hexadecimal in the
 * host's byte order (little-endian on the machines boxd runs on).
 */
final class DefaultRoute {
  private static final int RTF_UP = 0x1;
  private static final int RTF_GATEWAY = 0x2;

  private DefaultRoute() {}

  static Optional<InetAddress> gateway(String procNetRoute) {
    InetAddress best = null;
    long bestMetric = Long.MAX_VALUE;
    for (String line : procNetRoute.split("\n")) {
      String[] f = line.strip().split("\\s+");
      // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; the header's third field is "Gateway".
      if (f.length < 8 || !isAddress(f[1]) || !isAddress(f[2]) || !isFlags(f[3]) || !isAddress(f[7])) {
        continue;
      }
      int flags = Integer.parseUnsignedInt(f[3], 16);
      if (Long.parseUnsignedLong(f[1], 16) != 0 || Long.parseUnsignedLong(f[7], 16) != 0
          || (flags & RTF_UP) == 0 || (flags & RTF_GATEWAY) == 0) {
        continue;
      }
      long metric;
      try {
        metric = Long.parseLong(f[6]);
      } catch (NumberFormatException e) {
        continue;
      }
      if (metric < bestMetric) {
        bestMetric = metric;
        best = address(f[2]);
      }
    }
    return Optional.ofNullable(best);
  }

  private static boolean isAddress(String s) {
    return s.length() == 8 && isHex(s);
  }

  // Flags are printed as four hex digits ("0003").
  private static boolean isFlags(String s) {
    return !s.isEmpty() && s.length() <= 8 && isHex(s);
  }

  private static boolean isHex(String s) {
    return s.chars().allMatch(c -> Character.digit(c, 16) >= 0);
  }

  private static InetAddress address(String littleEndianHex) {
    int v = Integer.parseUnsignedInt(littleEndianHex, 16);
    byte[] b = {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("four bytes are always an IPv4 address", e);
    }
  }
}
