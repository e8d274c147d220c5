package dev.boxd.core.net;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.util.Optional;
import java.util.Set;

/**
 * A subnet such as {@code 10.77.0.0/16}. The first host address is the gateway; VMs get the
 * others. Allocation is a pure function of the addresses in use, so every replica picks the same.
 */
public record Ipv4Subnet(Ipv4 network, int prefix) {

  public Ipv4Subnet {
    if (prefix < 8 || prefix > 30) {
      throw BoxdException.invalid("invalid subnet prefix /" + prefix + ": expected /8 to /30");
    }
    int mask = mask(prefix);
    if ((network.bits() & ~mask) != 0) {
      throw BoxdException.invalid("invalid subnet " + network + "/" + prefix + ": host bits are set");
    }
  }

  public static Ipv4Subnet parse(String cidr) {
    int slash = cidr == null ? -1 : cidr.indexOf('/');
    if (slash < 0) {
      throw BoxdException.invalid("invalid subnet \"" + cidr + "\": expected ADDRESS/PREFIX such as 10.77.0.0/16");
    }
    int prefix;
    try {
      prefix = Integer.parseInt(cidr.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw BoxdException.invalid("invalid subnet \"" + cidr + "\": prefix is not a number");
    }
    return new Ipv4Subnet(Ipv4.parse(cidr.substring(0, slash)), prefix);
  }

  private static int mask(int prefix) {
    return prefix == 0 ? 0 : -1 << (32 - prefix);
  }

  public Ipv4 gateway() {
    return network.plus(1);
  }

  public Ipv4 broadcast() {
    return new Ipv4(network.bits() | ~mask(prefix));
  }

  public boolean contains(Ipv4 address) {
    return (address.bits() & mask(prefix)) == network.bits();
  }

  /** The lowest free VM address (after the gateway), or empty when the subnet is full. */
  public Optional<Ipv4> firstFree(Set<Ipv4> used) {
    for (Ipv4 candidate = gateway().plus(1); candidate.compareTo(broadcast()) < 0; candidate = candidate.plus(1)) {
      if (!used.contains(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  public Ipv4 allocate(Set<Ipv4> used) {
    return firstFree(used).orElseThrow(() -> new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "no free address left in " + this));
  }

  public String cidrOf(Ipv4 address) {
    return address + "/" + prefix;
  }

  @Override
  public String toString() {
    return network + "/" + prefix;
  }
}
