package dev.boxd.testkit;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports free now, for servers a test starts.
 *
 * <p>They come from 61000–65535, above the kernel's ephemeral range (32768–60999 on Debian): a
 * port handed out of that range can be taken as the source port of some outgoing connection in
 * the second between the pick and the server's bind, which failed a CI run. Below 61000 are the
 * ranges boxd itself hands out (per-VM SSH ports 10000–30000, exposed ports 40000–60000). A port
 * is handed out once per JVM, so two servers of one test never get the same one.
 */
public final class FreePorts {
  private static final int FIRST = 61000;
  private static final int LAST = 65535;
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  private FreePorts() {}

  public static int tcp() throws IOException {
    return pick(false);
  }

  /** A port free for UDP and TCP alike, as a DNS server listens on both. */
  public static int udpAndTcp() throws IOException {
    return pick(true);
  }

  private static synchronized int pick(boolean udpToo) throws IOException {
    int span = LAST - FIRST + 1;
    int start = ThreadLocalRandom.current().nextInt(span);
    for (int i = 0; i < span; i++) {
      int port = FIRST + (start + i) % span;
      if (!HANDED_OUT.contains(port) && free(port, udpToo)) {
        HANDED_OUT.add(port);
        return port;
      }
    }
    throw new IOException("no loopback port free in " + FIRST + "-" + LAST + " (is a test leaking servers?)");
  }

  private static boolean free(int port, boolean udpToo) {
    try (var tcp = new ServerSocket()) {
      tcp.setReuseAddress(true);
      tcp.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      if (udpToo) {
        try (var udp = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
          return true;
        }
      }
      return true;
    } catch (IOException taken) {
      return false;
    }
  }
}
