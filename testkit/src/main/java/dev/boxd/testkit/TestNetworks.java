package dev.boxd.testkit;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Names and address ranges for test networks. Every test network lives in a network namespace
 * the test creates and deletes, so test traffic never touches the host's own interfaces.
 */
public final class TestNetworks {
  private static final AtomicInteger NEXT = new AtomicInteger();

  private TestNetworks() {}

  /** A namespace name unique to this JVM and call, ≤ 15 characters. */
  public static String uniqueName(String prefix) {
    return prefix + Long.toString(ProcessHandle.current().pid() % 100000, 36) + "-" + NEXT.incrementAndGet();
  }

  /** A /24 inside 10.240.0.0/12 that no other test network of this JVM uses. */
  public static String uniqueSubnet() {
    int n = NEXT.incrementAndGet() % 4096;
    return "10." + (240 + n / 256) + "." + (n % 256) + ".0/24";
  }
}
