package dev.boxd.net;

import dev.boxd.core.BoxdException;
import dev.boxd.core.net.Ipv4Subnet;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Where a worker's VMs live on the network. VMs sit on a bridge inside a network namespace of
 * their own, so they can reach only what boxd puts there (the gateway), never the host's other
 * services; egress leaves through a veth "uplink" and is masqueraded.
 *
 * @param namespace network namespace holding the bridge and taps (created if missing)
 * @param bridge bridge device name inside the namespace
 * @param subnet VM subnet; its first address is the gateway on the bridge
 * @param uplink optional egress link out of the namespace
 * @param dnsUpstreams resolvers the gateway's DNS relays to; empty = the host's /etc/resolv.conf
 */
public record NetworkConfig(String namespace, String bridge, Ipv4Subnet subnet, Optional<Uplink> uplink,
    java.util.List<java.net.InetSocketAddress> dnsUpstreams) {

  public NetworkConfig {
    uplink.ifPresent(u -> {
      Ipv4Subnet link = Ipv4Subnet.parse(u.linkCidr());
      if (link.contains(subnet.network()) || subnet.contains(link.network())) {
        throw BoxdException.invalid("the uplink's link net " + link + " overlaps the VM subnet " + subnet
            + ": choose a link net outside it (boxd server --egress-net CIDR)");
      }
    });
  }

  public NetworkConfig(String namespace, String bridge, Ipv4Subnet subnet, Optional<Uplink> uplink) {
    this(namespace, bridge, subnet, uplink, java.util.List.of());
  }

  /**
   * A veth pair from the VM namespace to a peer namespace (empty = the host's own). Addresses are
   * a /30 link net: the peer end gets its first address, the VM namespace end the next one.
   *
   * <p>Toward the host, the host forwards and masquerades what comes from the link out of its own
   * routes, and accepts nothing from it for itself ({@link EgressLink}). A peer namespace is a
   * stand-in for the internet (tests): nothing is set up in it beyond its end of the link.
   */
  public record Uplink(Optional<String> peerNamespace, String peerDevice, String linkCidr) {

    /**
     * The default link net: link-local addresses are never routed beyond the host, so they
     * collide neither with a network the host reaches nor with a VM subnet. (Other link-local
     * destinations, such as a cloud's metadata service at 169.254.169.254, are refused to VMs.)
     */
    public static final String DEFAULT_LINK_NET = "169.254.77.0/30";

    public Uplink {
      Ipv4Subnet link = Ipv4Subnet.parse(linkCidr);
      if (link.prefix() > 30) {
        throw BoxdException.invalid("uplink link net " + linkCidr + " is too small: it needs two host addresses (a /30 or larger)");
      }
      if (peerDevice.isEmpty() || peerDevice.length() > 15) {
        throw BoxdException.invalid("uplink device name '" + peerDevice + "' must be 1 to 15 characters");
      }
    }

    /** The uplink of the VM namespace {@code namespace} to the host, on {@code linkCidr}. */
    public static Uplink toHost(String namespace, String linkCidr) {
      return new Uplink(Optional.empty(), hostDeviceOf(namespace), linkCidr);
    }

    /**
     * The host end's name for the VM namespace {@code namespace}: {@code bxup-NAMESPACE}, or, for a
     * name too long for a device (15 bytes), {@code bxup-} and a hash of it. Stable, so a restarted
     * server finds the link it made, and a namespace's leftovers can be removed by its name alone.
     */
    public static String hostDeviceOf(String namespace) {
      String plain = "bxup-" + namespace;
      if (plain.length() <= 15 && namespace.matches("[A-Za-z0-9_.-]+")) {
        return plain;
      }
      try {
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(namespace.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return "bxup-" + HexFormat.of().formatHex(digest).substring(0, 10);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is missing from this JVM", e);
      }
    }

    public boolean toTheHost() {
      return peerNamespace.isEmpty();
    }
  }

  public static NetworkConfig defaults() {
    return new NetworkConfig("boxd", "boxd0", Ipv4Subnet.parse("10.77.0.0/16"), Optional.empty());
  }
}
