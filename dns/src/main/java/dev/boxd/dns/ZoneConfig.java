package dev.boxd.dns;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * The zone the dns role is authoritative for and how it names itself: {@code ns1.<zone>}, whose A
 * record is {@code nameServer} (the address resolvers are told to ask: the one the server listens
 * on, unless it listens on every address).
 */
public record ZoneConfig(Name zone, Inet4Address nameServer) {
  /** TTL of every VM's A record and of TXT challenges (SPEC §6), and the negative-caching TTL. */
  public static final long TTL = 60;
  /** TTL of the zone's NS record and its name server's A record, which rarely change. */
  public static final long NS_TTL = 3600;

  public ZoneConfig {
    Objects.requireNonNull(zone, "zone");
    Objects.requireNonNull(nameServer, "nameServer");
    if (!zone.isAbsolute()) {
      throw new IllegalArgumentException("zone " + zone + " is not absolute");
    }
  }

  /**
   * Parses the zone as the server's flags give it ({@code localhost}, {@code boxd.example.com}) and
   * the name server's IPv4 address; throws INVALID_ARGUMENT naming what is wrong.
   */
  public static ZoneConfig of(String zone, String nameServer) {
    String lower = zone.toLowerCase(java.util.Locale.ROOT); // DNS names are case-insensitive
    String trimmed = lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    for (String label : trimmed.split("\\.", -1)) {
      if (!Names.isValid(label)) {
        throw BoxdException.invalid("invalid DNS zone " + Names.quote(zone)
            + ": expected labels of a-z, 0-9 and '-' separated by dots, such as localhost or boxd.example.com");
      }
    }
    try {
      return new ZoneConfig(Name.fromString(trimmed + "."), ipv4(nameServer));
    } catch (TextParseException e) {
      throw BoxdException.invalid("invalid DNS zone " + Names.quote(zone) + ": " + e.getMessage());
    }
  }

  private static Inet4Address ipv4(String address) {
    dev.boxd.core.net.Ipv4 parsed = dev.boxd.core.net.Ipv4.parse(address); // names the expected form on bad input
    try {
      return (Inet4Address) InetAddress.getByName(parsed.toString()); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code ns1.<zone>}: the zone's one name server. */
  public Name nameServerName() {
    return child("ns1");
  }

  /** {@code hostmaster.<zone>}: the mailbox an SOA names. */
  public Name hostmaster() {
    return child("hostmaster");
  }

  /** The zone as users write it: without the final dot. */
  public String zoneText() {
    String text = zone.toString();
    return text.substring(0, text.length() - 1);
  }

  private Name child(String label) {
    try {
      return Name.concatenate(Name.fromString(label), zone);
    } catch (org.xbill.DNS.NameTooLongException | TextParseException e) {
      throw BoxdException.invalid("DNS zone " + Names.quote(zoneText()) + " is too long for " + label + "." + zoneText());
    }
  }
}
