package dev.boxd.core.net;

/**
 * What one VM exchanged with the internet through its worker's uplink, in IP bytes: sent out, and
 * received back. Counted per VM address before the address is masqueraded; traffic between VMs and
 * to the gateway does not count.
 */
public record EgressTraffic(long bytesOut, long bytesIn) {
  public static final EgressTraffic NONE = new EgressTraffic(0, 0);

  public EgressTraffic {
    if (bytesOut < 0 || bytesIn < 0) {
      throw new IllegalArgumentException("byte counts cannot be negative: out " + bytesOut + ", in " + bytesIn);
    }
  }
}
