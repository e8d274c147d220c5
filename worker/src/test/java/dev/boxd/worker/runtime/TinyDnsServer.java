package dev.boxd.worker.runtime;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream resolver for tests, on loopback: answers every query with one A record. Enough to
 * prove the guest's resolver reaches the gateway's relay and the relay reaches its upstream.
 */
final class TinyDnsServer implements AutoCloseable {
  private final DatagramSocket socket;
  private final byte[] address;
  private final AtomicInteger queries = new AtomicInteger();

  private TinyDnsServer(DatagramSocket socket, byte[] address) {
    this.socket = socket;
    this.address = address;
  }

  static TinyDnsServer start(String answer) {
    try {
      var server = new TinyDnsServer(new DatagramSocket(new InetSocketAddress("127.0.0.1", 0)), InetAddress.getByName(answer).getAddress());
      Thread.ofVirtual().start(server::serve);
      return server;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  int queries() {
    return queries.get();
  }

  private void serve() {
    byte[] buffer = new byte[1500];
    while (!socket.isClosed()) {
      try {
        var packet = new DatagramPacket(buffer, buffer.length);
        socket.receive(packet);
        queries.incrementAndGet();
        byte[] reply = answer(ByteBuffer.wrap(buffer, 0, packet.getLength()));
        socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
      } catch (IOException e) {
        return;
      }
    }
  }

  // Header with QR/AA/RD/RA set; the question copied; for an A question one answer pointing at it
  // (name compression pointer 0xc00c), for anything else (AAAA) no answer.
  private byte[] answer(ByteBuffer query) {
    int length = query.remaining();
    byte[] q = new byte[length];
    query.get(q);
    int end = 12;
    while (q[end] != 0) {
      end += (q[end] & 0xff) + 1;
    }
    int qtype = ((q[end + 1] & 0xff) << 8) | (q[end + 2] & 0xff);
    int questionEnd = end + 5;
    boolean isA = qtype == 1;
    ByteBuffer out = ByteBuffer.allocate(questionEnd + 16);
    out.put(q, 0, 2).putShort((short) 0x8580).putShort((short) 1).putShort((short) (isA ? 1 : 0)).putShort((short) 0).putShort((short) 0);
    out.put(q, 12, questionEnd - 12);
    if (isA) {
      out.putShort((short) 0xc00c).putShort((short) 1).putShort((short) 1).putInt(60).putShort((short) 4).put(address);
    }
    byte[] reply = new byte[out.position()];
    out.flip().get(reply);
    return reply;
  }

  @Override
  public void close() {
    socket.close();
  }
}
