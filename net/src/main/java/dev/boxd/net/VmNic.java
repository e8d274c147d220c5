package dev.boxd.net;

import dev.boxd.core.net.Ipv4;

/**
 * One VM's network interface as the host sees it: its tap, the only MAC and IP it may send
 * from, and its owner (VMs of one owner may talk to each other; of different owners, never).
 * An {@code isolated} VM (SPEC §12) talks to no other VM, its owner's included, and of the
 * gateway's services reaches only DNS (and the CLI's port, which refuses it).
 */
public record VmNic(String tap, String mac, Ipv4 ip, String owner, boolean isolated) {

  public VmNic(String tap, String mac, Ipv4 ip, String owner) {
    this(tap, mac, ip, owner, false);
  }

  /** Tap names are derived from the address: unique, stable across supervisor restarts, ≤ 15 bytes. */
  public static VmNic of(Ipv4 ip, String owner) {
    return of(ip, owner, false);
  }

  public static VmNic of(Ipv4 ip, String owner, boolean isolated) {
    return new VmNic("bx" + ip.hex(), ip.derivedMac(), ip, owner, isolated);
  }
}
