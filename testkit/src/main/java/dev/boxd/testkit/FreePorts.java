package dev.boxd.testkit;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports free now, for servers a test starts (another test may take one first: rare, and the start then fails loudly). */
public final class FreePorts {
  private FreePorts() {}

  public static int tcp() throws IOException {
    try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** A port free for UDP and TCP alike, as a DNS server listens on both. */
  public static int udpAndTcp() throws IOException {
    for (int attempt = 0; attempt < 20; attempt++) {
      try (var udp = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
        int port = udp.getLocalPort();
        try (var tcp = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
          return port;
        } catch (IOException taken) {
          // try another
        }
      }
    }
    throw new IOException("no loopback port free for both UDP and TCP after 20 tries");
  }
}
