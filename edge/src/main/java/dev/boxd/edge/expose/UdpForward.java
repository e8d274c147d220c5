package dev.boxd.edge.expose;

import dev.boxd.core.state.Exposure;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One exposed UDP port: a relay. Each client address gets its own socket to the VM's port (made
 * by the worker where the VM network is reachable), so the VM's replies go back to the client
 * that asked; a client silent for {@link #IDLE} loses its socket, as a NAT forgets a mapping.
 */
final class UdpForward implements ExposeForwarder.Forward {
  static final Duration IDLE = Duration.ofSeconds(60);
  private static final int MAX_DATAGRAM = 65_535;
  private static final int MAX_CLIENTS = 256;

  private final DatagramChannel edge;
  private final Exposure exposure;
  private final ExposeForwarder forwarder;
  private final Map<SocketAddress, Session> sessions = new ConcurrentHashMap<>();

  /** A client's socket to the VM and when it last sent. */
  private record Session(DatagramChannel toVm, long[] lastSeen) {}

  private UdpForward(DatagramChannel edge, Exposure exposure, ExposeForwarder forwarder) {
    this.edge = edge;
    this.exposure = exposure;
    this.forwarder = forwarder;
  }

  static UdpForward open(InetSocketAddress address, Exposure exposure, ExposeForwarder forwarder) throws IOException {
    DatagramChannel edge = DatagramChannel.open(java.net.StandardProtocolFamily.INET);
    try {
      edge.bind(address);
    } catch (IOException e) {
      edge.close();
      throw e;
    }
    var forward = new UdpForward(edge, exposure, forwarder);
    Thread.ofVirtual().name("expose-udp-" + exposure.publicPort()).start(forward::receiveLoop);
    return forward;
  }

  private void receiveLoop() {
    ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM);
    while (edge.isOpen()) {
      try {
        buffer.clear();
        SocketAddress client = edge.receive(buffer);
        buffer.flip();
        expireIdle();
        Session session = sessions.get(client);
        if (session == null) {
          if (sessions.size() >= MAX_CLIENTS) {
            continue; // dropped, as a full NAT table would
          }
          session = open(client);
        }
        session.lastSeen()[0] = System.nanoTime();
        session.toVm().write(buffer);
      } catch (IOException e) {
        if (!edge.isOpen()) {
          return;
        }
        ExposeForwarder.debug("expose: udp {0}: {1}", exposure.publicPort(), e.getMessage());
      } catch (RuntimeException e) {
        ExposeForwarder.debug("expose: udp {0} to VM {1}: {2}", exposure.publicPort(), exposure.vmId(), e.getMessage());
      }
    }
  }

  private Session open(SocketAddress client) throws IOException {
    DatagramChannel toVm = forwarder.awake(exposure).datagram(exposure.vmId(), exposure.vmPort());
    Session session = new Session(toVm, new long[] {System.nanoTime()});
    sessions.put(client, session);
    Thread.ofVirtual().start(() -> replies(client, toVm));
    return session;
  }

  private void replies(SocketAddress client, DatagramChannel toVm) {
    ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM);
    try {
      while (toVm.isOpen()) {
        buffer.clear();
        toVm.read(buffer);
        buffer.flip();
        edge.send(buffer, client);
      }
    } catch (IOException e) {
      // closed (idle, removed) or the VM refused (ICMP port unreachable): the client may send again
    } finally {
      Session gone = sessions.get(client);
      if (gone != null && gone.toVm() == toVm) {
        sessions.remove(client);
      }
      closeQuietly(toVm);
    }
  }

  private void expireIdle() {
    long now = System.nanoTime();
    sessions.forEach((client, session) -> {
      if (now - session.lastSeen()[0] > IDLE.toNanos()) {
        sessions.remove(client);
        closeQuietly(session.toVm());
      }
    });
  }

  private static void closeQuietly(java.nio.channels.Channel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing: nothing to do
    }
  }

  @Override
  public void close() {
    closeQuietly(edge);
    sessions.values().forEach(s -> closeQuietly(s.toVm()));
    sessions.clear();
  }
}
