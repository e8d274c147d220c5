package dev.boxd.net;

import dev.boxd.core.net.Ipv4;
import java.util.HexFormat;
import java.nio.charset.StandardCharsets;

/**
 * nftables scripts, as pure text, for the VM namespace. Per VM there is one chain checking what
 * leaves its tap (only its own MAC and IP, only IPv4 and ARP) and one forward chain allowing
 * frames only toward taps of the same owner. The base chains dispatch on the input interface
 * through verdict maps, so adding or removing a VM never rewrites other VMs' rules.
 */
final class NftRules {
  static final String BRIDGE_TABLE = "boxd";
  static final String IP_TABLE = "boxd_ip";
  /** Per-VM byte counters of egress: kept across a worker's restart, unlike {@link #IP_TABLE}. */
  static final String TRAFFIC_TABLE = "boxd_traffic";

  private NftRules() {}

  /** Base tables; idempotent (re-running replaces the base chains but keeps per-VM state). */
  static String base(NetworkConfig config) {
    String bridge = config.bridge();
    StringBuilder s = new StringBuilder();
    s.append("table bridge ").append(BRIDGE_TABLE).append(" {\n")
        .append("  map vm_source { type ifname : verdict; }\n")
        .append("  map vm_forward { type ifname : verdict; }\n")
        .append("  chain prerouting { type filter hook prerouting priority -200; policy accept;\n")
        .append("    iifname vmap @vm_source\n  }\n")
        .append("  chain forward { type filter hook forward priority 0; policy accept;\n")
        .append("    iifname vmap @vm_forward\n  }\n")
        .append("}\n");
    s.append("table ip ").append(IP_TABLE).append(" {\n")
        // Routed traffic from the bridge back onto the bridge would let a VM reach another
        // owner's VM through the namespace's IP stack, around the bridge rules: never route it.
        .append("  chain forward { type filter hook forward priority 0; policy accept;\n")
        .append("    iifname \"").append(bridge).append("\" oifname \"").append(bridge).append("\" counter drop\n");
    // From the uplink only replies come in: nothing outside the namespace starts a connection to a
    // VM or to the namespace's own services (the gateway's).
    // (Not "ct state != established,related": that compares the state with both bits at once.)
    config.uplink().ifPresent(u -> s.append(onlyRepliesFromTheUplink()));
    s.append("  }\n");
    config.uplink().ifPresent(u -> s.append("  chain input { type filter hook input priority 0; policy accept;\n")
        .append(onlyRepliesFromTheUplink()).append("  }\n")
        .append("  chain postrouting { type nat hook postrouting priority 100; policy accept;\n")
        .append("    ip saddr ").append(config.subnet()).append(" oifname \"").append(UPLINK_DEVICE).append("\" masquerade\n  }\n"));
    s.append("}\n");
    return s.toString();
  }

  static final String UPLINK_DEVICE = "uplink0";

  private static String onlyRepliesFromTheUplink() {
    return "    iifname \"" + UPLINK_DEVICE + "\" ct state established,related accept\n"
        + "    iifname \"" + UPLINK_DEVICE + "\" counter drop\n";
  }

  /**
   * The egress counters' table: a counter each way per VM, chosen by the VM's address through a
   * map, counted on the way between the bridge and the uplink (before the address is masqueraded
   * on the way out, after it is restored on the way back). Declaring what exists changes nothing,
   * so re-running it keeps the counters; only the chain's rules are replaced.
   */
  static String trafficBase() {
    String t = TRAFFIC_TABLE;
    return "table ip " + t + " {\n"
        + "  map vm_out { type ipv4_addr : counter; }\n"
        + "  map vm_in { type ipv4_addr : counter; }\n"
        + "  chain forward { type filter hook forward priority filter - 10; policy accept; }\n"
        + "}\n"
        + "flush chain ip " + t + " forward\n"
        + "add rule ip " + t + " forward oifname \"" + UPLINK_DEVICE + "\" counter name ip saddr map @vm_out\n"
        + "add rule ip " + t + " forward iifname \"" + UPLINK_DEVICE + "\" counter name ip daddr map @vm_in\n";
  }

  /**
   * The VM's egress counters and their map entries; idempotent, and an existing counter keeps its
   * count (a re-attached VM). With {@code fresh}, for a VM just made, the counters start from zero
   * (what a VM that had the address before left, if its detach was cut short).
   */
  static String traffic(VmNic nic, boolean fresh) {
    String t = TRAFFIC_TABLE;
    String out = outCounter(nic);
    String in = inCounter(nic);
    String add = "add counter ip " + t + " " + out + "\n"
        + "add counter ip " + t + " " + in + "\n"
        + "add element ip " + t + " vm_out { " + nic.ip() + " : \"" + out + "\" }\n"
        + "add element ip " + t + " vm_in { " + nic.ip() + " : \"" + in + "\" }\n";
    // nft 1.0.6 has no "destroy" (delete if present), and "reset" is no part of a transaction:
    // make sure they exist, delete them, and make them again, all in one transaction.
    return fresh ? add + detachTraffic(nic) + add : add;
  }

  static String outCounter(VmNic nic) {
    return "out_" + nic.tap();
  }

  static String inCounter(VmNic nic) {
    return "in_" + nic.tap();
  }

  /** Removes the VM's egress counters; run only when they exist (see {@link HostNetwork#detach}). */
  static String detachTraffic(VmNic nic) {
    String t = TRAFFIC_TABLE;
    return "delete element ip " + t + " vm_out { " + nic.ip() + " }\n"
        + "delete element ip " + t + " vm_in { " + nic.ip() + " }\n"
        + "delete counter ip " + t + " " + outCounter(nic) + "\n"
        + "delete counter ip " + t + " " + inCounter(nic) + "\n";
  }

  static String ownerSet(String owner) {
    // Owner ids are arbitrary strings; set names must be identifiers.
    return "owner_" + HexFormat.of().formatHex(owner.getBytes(StandardCharsets.UTF_8));
  }

  static String attach(VmNic nic) {
    String t = nic.tap();
    String set = ownerSet(nic.owner());
    // An isolated VM joins no owner's set, so no other VM's forward chain lets a frame reach it,
    // and its own forward chain drops every frame toward another tap.
    String membership = nic.isolated() ? "" : "add set bridge " + BRIDGE_TABLE + " " + set + " { type ifname; }\n"
        + "add element bridge " + BRIDGE_TABLE + " " + set + " { \"" + t + "\" }\n";
    String forward = nic.isolated()
        ? "add rule bridge " + BRIDGE_TABLE + " fwd_" + t + " counter name isolate_" + t + " drop\n"
        : "add rule bridge " + BRIDGE_TABLE + " fwd_" + t + " oifname != @" + set + " counter name isolate_" + t + " drop\n";
    return membership
        + "add chain bridge " + BRIDGE_TABLE + " src_" + t + "\n"
        + "flush chain bridge " + BRIDGE_TABLE + " src_" + t + "\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether saddr != " + nic.mac() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type arp arp saddr ether != " + nic.mac() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type arp arp saddr ip != " + nic.ip() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type ip ip saddr != " + nic.ip() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type != { ip, arp } drop\n"
        + "add chain bridge " + BRIDGE_TABLE + " fwd_" + t + "\n"
        + "flush chain bridge " + BRIDGE_TABLE + " fwd_" + t + "\n"
        + forward
        + "add element bridge " + BRIDGE_TABLE + " vm_source { \"" + t + "\" : jump src_" + t + " }\n"
        + "add element bridge " + BRIDGE_TABLE + " vm_forward { \"" + t + "\" : jump fwd_" + t + " }\n";
  }

  /** Named counters must exist before rules reference them. */
  static String counters(VmNic nic) {
    return "add counter bridge " + BRIDGE_TABLE + " spoof_" + nic.tap() + "\n"
        + "add counter bridge " + BRIDGE_TABLE + " isolate_" + nic.tap() + "\n";
  }

  /**
   * The owner sets that hold {@code tap}, from {@code nft list sets bridge} output: set blocks
   * ({@code set NAME { ... elements = { "tap", ... } }}) whose quoted elements include it.
   */
  static java.util.List<String> setsHolding(String listing, String tap) {
    java.util.List<String> sets = new java.util.ArrayList<>();
    String table = null;
    String set = null;
    for (String line : listing.lines().map(String::trim).toList()) {
      if (line.startsWith("table ")) {
        table = line;
      } else if (line.startsWith("set ") && line.endsWith("{")) {
        set = line.substring(4, line.length() - 1).trim();
      } else if (line.equals("}")) {
        set = null;
      } else if (set != null && ("table bridge " + BRIDGE_TABLE + " {").equals(table) && line.contains("\"" + tap + "\"")
          && !sets.contains(set)) {
        sets.add(set);
      }
    }
    return sets;
  }

  /** Every quoted element of the owner sets in {@code nft list sets bridge} output. */
  static java.util.Set<String> elementsOf(String listing) {
    java.util.Set<String> elements = new java.util.TreeSet<>();
    boolean inSet = false;
    boolean ours = false;
    for (String line : listing.lines().map(String::trim).toList()) {
      if (line.startsWith("table ")) {
        ours = line.equals("table bridge " + BRIDGE_TABLE + " {");
      } else if (line.startsWith("set ") && line.endsWith("{")) {
        inSet = true;
      } else if (line.equals("}")) {
        inSet = false;
      } else if (inSet && ours) {
        var m = ELEMENT.matcher(line);
        while (m.find()) {
          elements.add(m.group(1));
        }
      }
    }
    return elements;
  }

  private static final java.util.regex.Pattern ELEMENT = java.util.regex.Pattern.compile("\"([^\"]+)\"");

  /** Takes {@code tap} out of each of {@code sets}. */
  static String removeFromSets(java.util.List<String> sets, String tap) {
    StringBuilder s = new StringBuilder();
    for (String set : sets) {
      s.append("delete element bridge ").append(BRIDGE_TABLE).append(' ').append(set).append(" { \"").append(tap).append("\" }\n");
    }
    return s.toString();
  }

  static String detach(VmNic nic) {
    String t = nic.tap();
    return "delete element bridge " + BRIDGE_TABLE + " vm_source { \"" + t + "\" }\n"
        + "delete element bridge " + BRIDGE_TABLE + " vm_forward { \"" + t + "\" }\n"
        + "delete chain bridge " + BRIDGE_TABLE + " src_" + t + "\n"
        + "delete chain bridge " + BRIDGE_TABLE + " fwd_" + t + "\n"
        + "delete counter bridge " + BRIDGE_TABLE + " spoof_" + t + "\n"
        + "delete counter bridge " + BRIDGE_TABLE + " isolate_" + t + "\n"
        + (nic.isolated() ? "" : "delete element bridge " + BRIDGE_TABLE + " " + ownerSet(nic.owner()) + " { \"" + t + "\" }\n");
  }

  /** Addresses of isolated VMs, and what of the namespace's own services they may reach: kept across a worker's restart. */
  static final String ISOLATED_TABLE = "boxd_isolated";

  /**
   * The input rules for isolated VMs (SPEC §12), in a table of their own whose set of addresses
   * outlives a worker's restart (only the chain's rules are replaced). What an isolated VM sends
   * to the namespace itself (the gateway's services, the uplink's address) is dropped unless it is
   * DNS on the gateway, the CLI's port or the in-VM API's (whose servers refuse it with the
   * reason, rather than leaving the client to time out), or a reply to a connection the namespace made: the edge's and
   * the SSH gateway's connections into the VM (port 8000, sshd, forwards) start on this side.
   * Routed traffic (the internet through the uplink) never passes input.
   */
  static String isolatedBase(NetworkConfig config, int cliPort, int apiPort) {
    String t = ISOLATED_TABLE;
    String gateway = config.subnet().gateway().toString();
    String fromBridge = "iifname \"" + config.bridge() + "\" ip daddr " + gateway;
    return "table ip " + t + " {\n"
        + "  set vms { type ipv4_addr; }\n"
        + "  chain input { type filter hook input priority filter; policy accept; }\n"
        + "}\n"
        + "flush chain ip " + t + " input\n"
        + "add rule ip " + t + " input ip saddr != @vms accept\n"
        + "add rule ip " + t + " input ct state established,related accept\n"
        + "add rule ip " + t + " input " + fromBridge + " udp dport 53 accept\n"
        + "add rule ip " + t + " input " + fromBridge + " tcp dport { 53, " + cliPort + ", " + apiPort + " } accept\n"
        + "add rule ip " + t + " input counter drop\n";
  }

  static String isolate(VmNic nic) {
    return "add element ip " + ISOLATED_TABLE + " vms { " + nic.ip() + " }\n";
  }

  static String unisolate(Ipv4 ip) {
    return "delete element ip " + ISOLATED_TABLE + " vms { " + ip + " }\n";
  }

  private static final java.util.regex.Pattern ADDRESS = java.util.regex.Pattern.compile("\\b(\\d{1,3}(?:\\.\\d{1,3}){3})\\b");

  /** The addresses in {@code nft list set ip boxd_isolated vms} output. */
  static java.util.List<Ipv4> isolatedIn(String listing) {
    int elements = listing.indexOf("elements");
    java.util.List<Ipv4> ips = new java.util.ArrayList<>();
    if (elements < 0) {
      return ips;
    }
    var m = ADDRESS.matcher(listing.substring(elements));
    while (m.find()) {
      ips.add(Ipv4.parse(m.group(1)));
    }
    return ips;
  }
}
