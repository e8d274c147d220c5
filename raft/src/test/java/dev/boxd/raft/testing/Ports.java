package dev.boxd.raft.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports on 127.0.0.1 for test nodes. Chosen below the kernel's ephemeral range
 * (32768 and up by default): a node's address is picked before the node binds it, and a port
 * from the ephemeral range may meanwhile be taken by an outgoing connection of another node.
 */
public final class Ports {
  private static final int LOW = 20_000;
  private static final int HIGH = 32_000;

  private Ports() {}

  /** {@code 127.0.0.1:PORT}, free when this returns. */
  public static String freeAddress() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOW, HIGH);
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        return "127.0.0.1:" + port;
      } catch (IOException inUse) {
        // try another
      }
    }
    throw new IllegalStateException("no free port between " + LOW + " and " + HIGH + " after 100 attempts");
  }
}
