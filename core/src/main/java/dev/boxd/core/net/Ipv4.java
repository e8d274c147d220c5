package dev.boxd.core.net;

import dev.boxd.core.BoxdException;

/** An IPv4 address as an unsigned 32-bit value; pure, so it can live in the replicated state. */
public record Ipv4(int bits) implements Comparable<Ipv4> {

  public static Ipv4 parse(String text) {
    String[] parts = text == null ? new String[0] : text.split("\\.", -1);
    if (parts.length != 4) {
      throw BoxdException.invalid("invalid IPv4 address \"" + text + "\": expected four numbers 0-255 separated by dots");
    }
    int bits = 0;
    for (String part : parts) {
      int octet;
      try {
        octet = Integer.parseInt(part);
      } catch (NumberFormatException e) {
        octet = -1;
      }
      if (octet < 0 || octet > 255 || part.length() > 3 || part.isEmpty()) {
        throw BoxdException.invalid("invalid IPv4 address \"" + text + "\": expected four numbers 0-255 separated by dots");
      }
      bits = (bits << 8) | octet;
    }
    return new Ipv4(bits);
  }

  public Ipv4 plus(int offset) {
    return new Ipv4(bits + offset);
  }

  /** Eight hex digits, handy for names that must be short and unique (tap devices). */
  public String hex() {
    return String.format("%08x", bits);
  }

  /** A locally administered unicast MAC derived from this address, so MAC and IP change together. */
  public String derivedMac() {
    return String.format("02:b0:%02x:%02x:%02x:%02x", (bits >>> 24) & 0xff, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff);
  }

  @Override
  public int compareTo(Ipv4 other) {
    return Integer.compareUnsigned(bits, other.bits);
  }

  @Override
  public String toString() {
    return ((bits >>> 24) & 0xff) + "." + ((bits >>> 16) & 0xff) + "." + ((bits >>> 8) & 0xff) + "." + (bits & 0xff);
  }
}
