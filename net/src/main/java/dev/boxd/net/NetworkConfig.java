package dev.boxd.net;

import dev.boxd.core.net.Ipv4Subnet;
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

  public NetworkConfig(String namespace, String bridge, Ipv4Subnet subnet, Optional<Uplink> uplink) {
    this(namespace, bridge, subnet, uplink, java.util.List.of());
  }

  /**
   * A veth pair from the VM namespace to a peer namespace (empty = the host's own). Addresses are
   * a /30 link net: the peer end gets {@code peerAddress}, the VM namespace end the next one.
   */
  public record Uplink(Optional<String> peerNamespace, String peerDevice, String linkCidr) {}

  public static NetworkConfig defaults() {
    return new NetworkConfig("boxd", "boxd0", Ipv4Subnet.parse("10.77.0.0/16"), Optional.empty());
  }
}
