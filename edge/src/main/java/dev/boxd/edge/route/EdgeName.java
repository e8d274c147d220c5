package dev.boxd.edge.route;

import dev.boxd.core.Names;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A host name the edge serves: {@code NAME.<zone>} (the VM NAME's default route) or
 * {@code SUB.NAME.<zone>} (its proxy SUB). Both labels are VM-style names (DNS labels).
 */
public record EdgeName(String vm, Optional<String> sub) {
  public EdgeName {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(sub, "sub");
  }

  /**
   * Parses a TLS server name or an HTTP Host (a port after a colon is ignored, case too, and a
   * trailing dot); empty for anything not of the two shapes under {@code zone}.
   */
  public static Optional<EdgeName> parse(String host, String zone) {
    Optional<String> normalized = hostName(host);
    if (normalized.isEmpty()) {
      return Optional.empty();
    }
    String name = normalized.get();
    String suffix = "." + zone.toLowerCase(Locale.ROOT);
    if (!name.endsWith(suffix)) {
      return Optional.empty();
    }
    String[] labels = name.substring(0, name.length() - suffix.length()).split("\\.", -1);
    for (String label : labels) {
      if (!Names.isValid(label)) {
        return Optional.empty();
      }
    }
    return switch (labels.length) {
      case 1 -> Optional.of(new EdgeName(labels[0], Optional.empty()));
      case 2 -> Optional.of(new EdgeName(labels[1], Optional.of(labels[0])));
      default -> Optional.empty();
    };
  }

  /** Whether a TLS server name or HTTP Host (read as {@link #parse} reads it) is the zone itself. */
  public static boolean isZone(String host, String zone) {
    return hostName(host).map(name -> name.equals(zone.toLowerCase(Locale.ROOT))).orElse(false);
  }

  // Lower case, without a port after a colon or a trailing dot; empty for an IPv6 literal or garbage.
  private static Optional<String> hostName(String host) {
    if (host == null || host.isEmpty()) {
      return Optional.empty();
    }
    String name = host.toLowerCase(Locale.ROOT);
    int colon = name.lastIndexOf(':');
    if (colon >= 0) {
      String port = name.substring(colon + 1);
      if (port.isEmpty() || !port.chars().allMatch(Character::isDigit) || name.indexOf(':') != colon) {
        return Optional.empty(); // an IPv6 literal or garbage: never one of ours
      }
      name = name.substring(0, colon);
    }
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    return Optional.of(name);
  }

  /** The full name under {@code zone}, as certificates and Host headers carry it. */
  public String under(String zone) {
    return sub.map(s -> s + ".").orElse("") + vm + "." + zone;
  }
}
