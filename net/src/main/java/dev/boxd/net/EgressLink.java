package dev.boxd.net;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uplink of a VM namespace: a veth pair to the host (or to a test's peer namespace), the VM
 * namespace's default route through it, and on the host the forwarding that takes VM traffic out
 * of the host's own routes. On the host it adds only what is named after the link's host device,
 * so several servers (of different namespaces) coexist and other tables are never touched: the
 * device and the nftables table {@code ip boxd_egress_DEVICE}, which
 *
 * <ul>
 *   <li>accepts nothing from the link for the host itself (its INPUT) but replies to connections
 *       the host made: a VM reaches no service of the host, on any of its addresses;
 *   <li>forwards from the link to anywhere but link-local addresses (a cloud's metadata service
 *       answers there, with the host's credentials), and toward the link only replies;
 *   <li>masquerades what comes from the link out of whichever interface the host routes it to.
 * </ul>
 * It also turns IPv4 forwarding on for the host, and leaves it on when the link goes: other
 * software on the host may have come to rely on it since.
 *
 * <p>Set-up is idempotent and keeps a working link as it is (a restarted server with VMs running).
 */
public final class EgressLink {
  private static final Logger log = LoggerFactory.getLogger(EgressLink.class);
  static final String HOST_TABLE_PREFIX = "boxd_egress_";
  private static final Path HOST_IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

  private EgressLink() {}

  /** The host's nftables table of the link whose host end is {@code hostDevice}. */
  static String hostTable(String hostDevice) {
    return HOST_TABLE_PREFIX + hostDevice;
  }

  /**
   * Removes what the uplink of VM namespace {@code namespace} added to the host: its host device
   * (and so the pair) and its table. Nothing if they are gone. For a server's namespace being
   * removed, and for tests cleaning up after a server they started.
   */
  public static void removeFromHost(String namespace) {
    removeHostEnd(NetworkConfig.Uplink.hostDeviceOf(namespace));
  }

  /** Removes the uplink of {@code ns} that an earlier run made: egress is now off. Nothing if there is none. */
  static void remove(NetworkNamespace ns) {
    if (ns.tryRun("ip", "link", "show", NftRules.UPLINK_DEVICE).ok()) {
      ns.run("ip", "link", "delete", NftRules.UPLINK_DEVICE);
      log.info("uplink of namespace {} removed: VMs have no egress", ns.name());
    }
    removeFromHost(ns.name());
  }

  /** Removes the host device {@code device} (and so the pair) and the host's table for it. */
  static void removeHostEnd(String device) {
    if (HostCommand.tryRun("ip", "link", "show", device).ok()) {
      HostCommand.tryRun("ip", "link", "delete", device);
    }
    if (HostCommand.tryRun("nft", "list", "table", "ip", hostTable(device)).ok()) {
      HostCommand.tryRun("nft", "delete", "table", "ip", hostTable(device));
    }
  }

  /**
   * What {@code boxd doctor} says of egress on this host: the route VMs' traffic would leave by,
   * whether IPv4 forwarding is on, and a firewall of the host's that would drop it anyway.
   */
  public static String describeHost() {
    var route = HostCommand.tryRun("ip", "-4", "route", "show", "default");
    String way = route.ok() && !route.stdout().isBlank()
        ? "out by the host's " + route.stdout().lines().findFirst().orElseThrow().trim()
        : "this host has no default route: VMs will reach nothing beyond it";
    String forwarding;
    try {
      forwarding = Files.readString(HOST_IP_FORWARD).strip().equals("1") ? "IPv4 forwarding is on" : "IPv4 forwarding is off (the server turns it on)";
    } catch (IOException e) {
      forwarding = "IPv4 forwarding unknown (" + HOST_IP_FORWARD + ": " + e.getMessage() + ")";
    }
    var iptables = HostCommand.tryRun("nft", "list", "chain", "ip", "filter", "FORWARD");
    String firewall = iptables.ok() && iptables.stdout().contains("policy drop")
        ? "; the host's iptables FORWARD policy is drop (Docker sets it), which wins over boxd's rules: VMs reach nothing"
            + " until it lets them through (iptables -I DOCKER-USER -i bxup-+ -j ACCEPT;"
            + " iptables -I DOCKER-USER -o bxup-+ -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT)"
        : "";
    return way + "; " + forwarding + firewall;
  }

  /** Makes (or re-checks) the link from {@code ns} and, toward the host, the host's part. */
  static void setUp(NetworkNamespace ns, NetworkConfig.Uplink uplink) {
    Ipv4Subnet link = Ipv4Subnet.parse(uplink.linkCidr());
    String peerAddress = link.cidrOf(link.gateway());
    String ownAddress = link.cidrOf(link.gateway().plus(1));
    NetworkNamespace peer = uplink.peerNamespace().map(NetworkNamespace::new).orElse(null);
    if (!linkIsUp(ns, uplink, peer, ownAddress, peerAddress)) {
      makeLink(ns, uplink, peer, link, ownAddress, peerAddress);
    }
    ns.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    if (uplink.toTheHost()) {
      HostCommand.runWithInput(hostRules(uplink).getBytes(StandardCharsets.UTF_8), "nft", "-f", "-");
      enableHostForwarding(uplink.peerDevice());
    }
  }

  // Both ends exist with the addresses asked for, and the namespace routes through it.
  private static boolean linkIsUp(NetworkNamespace ns, NetworkConfig.Uplink uplink, NetworkNamespace peer, String ownAddress,
      String peerAddress) {
    var inside = ns.tryRun("ip", "-4", "-o", "addr", "show", "dev", NftRules.UPLINK_DEVICE);
    String[] peerShow = {"ip", "-4", "-o", "addr", "show", "dev", uplink.peerDevice()};
    var outside = peer == null ? HostCommand.tryRun(peerShow) : peer.tryRun(peerShow);
    var route = ns.tryRun("ip", "-4", "route", "show", "default");
    return inside.ok() && inside.stdout().contains(" " + ownAddress + " ") && outside.ok()
        && outside.stdout().contains(" " + peerAddress + " ") && route.ok() && route.stdout().contains("dev " + NftRules.UPLINK_DEVICE);
  }

  private static void makeLink(NetworkNamespace ns, NetworkConfig.Uplink uplink, NetworkNamespace peer, Ipv4Subnet link,
      String ownAddress, String peerAddress) {
    // A link with other addresses (the link net changed) or half made: start again.
    if (ns.tryRun("ip", "link", "show", NftRules.UPLINK_DEVICE).ok()) {
      ns.run("ip", "link", "delete", NftRules.UPLINK_DEVICE);
    }
    if (peer == null) {
      HostCommand.tryRun("ip", "link", "delete", uplink.peerDevice());
      var taken = HostCommand.run("ip", "-4", "-o", "addr", "show", "to", link.toString()).stdout().strip();
      if (!taken.isEmpty()) {
        throw new BoxdException(ErrorCode.FAILED_PRECONDITION, "the uplink's link net " + link + " is already in use on this host ("
            + taken.lines().findFirst().orElse(taken).replaceAll("\\s+", " ") + "): choose another one with boxd server --egress-net CIDR");
      }
    }
    HostCommand.run("ip", "link", "add", uplink.peerDevice(), "netns", peer == null ? "1" : peer.name(),
        "type", "veth", "peer", "name", NftRules.UPLINK_DEVICE, "netns", ns.name());
    String[] address = {"ip", "addr", "add", peerAddress, "dev", uplink.peerDevice()};
    String[] up = {"ip", "link", "set", uplink.peerDevice(), "up"};
    if (peer == null) {
      HostCommand.run(address);
      HostCommand.run(up);
    } else {
      peer.run(address);
      peer.run(up);
    }
    ns.run("ip", "addr", "add", ownAddress, "dev", NftRules.UPLINK_DEVICE);
    ns.run("ip", "link", "set", NftRules.UPLINK_DEVICE, "up");
    ns.run("ip", "route", "replace", "default", "via", link.gateway().toString());
    log.info("uplink of namespace {} made: {} ({}) to {} ({})", ns.name(), NftRules.UPLINK_DEVICE, ownAddress,
        uplink.peerDevice(), peer == null ? peerAddress + " on the host" : peerAddress + " in " + peer.name());
  }

  /** The host's table for {@code uplink}, replaced whole (it holds no per-VM state). */
  static String hostRules(NetworkConfig.Uplink uplink) {
    String table = hostTable(uplink.peerDevice());
    String dev = "\"" + uplink.peerDevice() + "\"";
    String link = Ipv4Subnet.parse(uplink.linkCidr()).toString();
    return "add table ip " + table + "\ndelete table ip " + table + "\n"
        + "table ip " + table + " {\n"
        + "  chain input { type filter hook input priority filter - 10; policy accept;\n"
        + "    iifname " + dev + " ct state established,related accept\n"
        + "    iifname " + dev + " counter drop\n  }\n"
        + "  chain forward { type filter hook forward priority filter - 10; policy accept;\n"
        + "    iifname " + dev + " ip saddr != " + link + " counter drop\n"
        + "    iifname " + dev + " ip daddr 169.254.0.0/16 counter drop\n"
        + "    oifname " + dev + " ct state established,related accept\n"
        + "    oifname " + dev + " counter drop\n  }\n"
        + "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
        + "    ip saddr " + link + " oifname != " + dev + " masquerade\n  }\n"
        + "}\n";
  }

  private static void enableHostForwarding(String device) {
    try {
      if (!Files.readString(HOST_IP_FORWARD).strip().equals("1")) {
        Files.writeString(HOST_IP_FORWARD, "1\n");
        log.warn("IPv4 forwarding turned on for this host (net.ipv4.ip_forward=1): VMs reach the internet through {}", device);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("turning on IPv4 forwarding (" + HOST_IP_FORWARD + ") for the uplink " + device, e);
    }
  }
}
