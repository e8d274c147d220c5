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

  /**
   * A /30 link net for a server's uplink to the host, inside 169.254.192.0/18 and on no interface of
   * the host now. Unlike a VM subnet (inside a namespace of the test's) it is on the host, shared
   * with tests of other processes: chosen at random, and the server refuses one taken meanwhile.
   */
  public static String uniqueLinkNet() {
    var random = java.util.concurrent.ThreadLocalRandom.current();
    while (true) {
      int n = random.nextInt(4096);
      String net = "169.254." + (192 + n / 64) + "." + (n % 64 * 4) + "/30";
      if (!onTheHost(net)) {
        return net;
      }
    }
  }

  private static boolean onTheHost(String net) {
    try {
      Process listed = new ProcessBuilder("ip", "-4", "-o", "addr", "show", "to", net).redirectErrorStream(true).start();
      String out = new String(listed.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      return listed.waitFor() != 0 || !out.isBlank();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("listing the host's addresses in " + net, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while listing the host's addresses", e);
    }
  }

  /**
   * A loopback address of its own for a test server's edge (each VM's SSH port, exposed ports):
   * servers of other tests and processes listen on the same port numbers, each on its own address.
   * Random in 127.88.0.0/16, away from the public pool (127.77.0.0/16).
   */
  public static String uniqueLoopback() {
    var random = java.util.concurrent.ThreadLocalRandom.current();
    return "127.88." + random.nextInt(256) + "." + random.nextInt(1, 255);
  }

  /** A /24 inside 10.240.0.0/12 that no other test network of this JVM uses. */
  public static String uniqueSubnet() {
    int n = NEXT.incrementAndGet() % 4096;
    return "10." + (240 + n / 256) + "." + (n % 256) + ".0/24";
  }
}
