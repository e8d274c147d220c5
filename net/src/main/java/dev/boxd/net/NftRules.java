package dev.boxd.net;

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
        .append("    iifname \"").append(bridge).append("\" oifname \"").append(bridge).append("\" counter drop\n  }\n");
    config.uplink().ifPresent(u -> s.append("  chain postrouting { type nat hook postrouting priority 100; policy accept;\n")
        .append("    ip saddr ").append(config.subnet()).append(" oifname \"").append(UPLINK_DEVICE).append("\" masquerade\n  }\n"));
    s.append("}\n");
    return s.toString();
  }

  static final String UPLINK_DEVICE = "uplink0";

  static String ownerSet(String owner) {
    // Owner ids are arbitrary strings; set names must be identifiers.
    return "owner_" + HexFormat.of().formatHex(owner.getBytes(StandardCharsets.UTF_8));
  }

  static String attach(VmNic nic) {
    String t = nic.tap();
    String set = ownerSet(nic.owner());
    return "add set bridge " + BRIDGE_TABLE + " " + set + " { type ifname; }\n"
        + "add element bridge " + BRIDGE_TABLE + " " + set + " { \"" + t + "\" }\n"
        + "add chain bridge " + BRIDGE_TABLE + " src_" + t + "\n"
        + "flush chain bridge " + BRIDGE_TABLE + " src_" + t + "\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether saddr != " + nic.mac() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type arp arp saddr ether != " + nic.mac() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type arp arp saddr ip != " + nic.ip() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type ip ip saddr != " + nic.ip() + " counter name spoof_" + t + " drop\n"
        + "add rule bridge " + BRIDGE_TABLE + " src_" + t + " ether type != { ip, arp } drop\n"
        + "add chain bridge " + BRIDGE_TABLE + " fwd_" + t + "\n"
        + "flush chain bridge " + BRIDGE_TABLE + " fwd_" + t + "\n"
        + "add rule bridge " + BRIDGE_TABLE + " fwd_" + t + " oifname != @" + set + " counter name isolate_" + t + " drop\n"
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
        + "delete element bridge " + BRIDGE_TABLE + " " + ownerSet(nic.owner()) + " { \"" + t + "\" }\n";
  }
}
