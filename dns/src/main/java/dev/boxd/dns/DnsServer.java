package dev.boxd.dns;

import dev.boxd.core.BoxdException;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dns role's listener: UDP and TCP on one address and port, answering with {@link Answers}
 * from whatever index {@code zone} supplies at the time of each query.
 *
 * <p>Bounded by construction: a fixed number of UDP threads, each with one buffer and one query
 * at a time (a burst beyond what they keep up with waits in, then overflows, the socket's receive
 * buffer, as it would for any server); TCP takes at most {@link #MAX_TCP_CONNECTIONS} connections
 * at once (one virtual thread each; later ones are closed at once) and closes one idle for
 * {@link #TCP_IDLE_MILLIS} (RFC 7766 asks servers to keep idle connections short).
 */
public final class DnsServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
  static final int MAX_TCP_CONNECTIONS = 64;
  static final int TCP_IDLE_MILLIS = 10_000;
  private static final int UDP_BUFFER = 4096; // a query is small; a longer datagram is cut and answered FORMERR

  private final DatagramChannel udp;
  private final ServerSocket tcp;
  private final Supplier<ZoneIndex> zone;
  private final Clock clock;
  private final Semaphore tcpSlots = new Semaphore(MAX_TCP_CONNECTIONS);
  private final List<Thread> threads = new ArrayList<>();
  private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  private volatile long lastFailureLog = System.nanoTime() - 120_000_000_000L;

  private DnsServer(DatagramChannel udp, ServerSocket tcp, Supplier<ZoneIndex> zone, Clock clock) {
    this.udp = udp;
    this.tcp = tcp;
    this.zone = zone;
    this.clock = clock;
  }

  /**
   * Listens on {@code address} (port 0: any free port, the same for UDP and TCP) with {@code
   * udpThreads} UDP threads. Throws FAILED_PRECONDITION naming the address when it is taken.
   */
  public static DnsServer start(InetSocketAddress address, int udpThreads, Supplier<ZoneIndex> zone, Clock clock) {
    DnsServer server = bind(address, zone, clock);
    for (int i = 0; i < udpThreads; i++) {
      server.threads.add(Thread.ofPlatform().name("dns-udp-" + i).daemon().start(server::serveUdp));
    }
    server.threads.add(Thread.ofPlatform().name("dns-tcp-accept").daemon().start(server::acceptTcp));
    return server;
  }

  private static DnsServer bind(InetSocketAddress address, Supplier<ZoneIndex> zone, Clock clock) {
    // With port 0 the UDP port is chosen first; TCP may find it taken, so a few ports are tried.
    for (int attempt = 0; ; attempt++) {
      DatagramChannel udp = null;
      try {
        udp = DatagramChannel.open(StandardProtocolFamily.INET);
        udp.bind(address);
        InetSocketAddress bound = (InetSocketAddress) udp.getLocalAddress();
        ServerSocket tcp = new ServerSocket();
        try {
          tcp.setReuseAddress(true); // a restarted server need not wait for the old connections' TIME_WAIT
          tcp.bind(bound, 128);
        } catch (IOException e) {
          tcp.close();
          throw e;
        }
        return new DnsServer(udp, tcp, zone, clock);
      } catch (IOException e) {
        closeQuietly(udp);
        if (address.getPort() == 0 && e instanceof BindException && attempt < 10) {
          continue;
        }
        throw BoxdException.precondition("cannot listen for DNS on " + address.getHostString() + ":" + address.getPort() + ": "
            + e.getMessage() + " (is another DNS server there? choose another address with --dns=ADDR:PORT, or --no-dns)");
      }
    }
  }

  /** The address and port it listens on (UDP and TCP alike). */
  public InetSocketAddress address() {
    return (InetSocketAddress) tcp.getLocalSocketAddress();
  }

  private void serveUdp() {
    ByteBuffer in = ByteBuffer.allocate(UDP_BUFFER);
    while (!closed) {
      try {
        in.clear();
        SocketAddress client = udp.receive(in);
        byte[] out = answer(in.array(), in.position(), Answers.Transport.UDP);
        if (out != null) {
          udp.send(ByteBuffer.wrap(out), client);
        }
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        log.debug("DNS over UDP: {}", e.toString()); // one answer lost (the client went away); it retries
      } catch (RuntimeException e) {
        log.warn("DNS over UDP: cannot answer a query: {}", e.toString(), e);
      }
    }
  }

  private void acceptTcp() {
    while (!closed) {
      Socket socket;
      try {
        socket = tcp.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("DNS over TCP: cannot accept: {}", e.toString());
        }
        continue;
      }
      if (!tcpSlots.tryAcquire()) {
        closeQuietly(socket); // full: the client tries again, or another server of the zone
        continue;
      }
      connections.add(socket);
      Thread.ofVirtual().name("dns-tcp").start(() -> {
        try (socket) {
          serveTcp(socket);
        } catch (IOException e) {
          log.debug("DNS over TCP connection ended: {}", e.toString());
        } finally {
          connections.remove(socket);
          tcpSlots.release();
        }
      });
    }
  }

  // Queries one after the other on the connection, each with its two-byte length (RFC 1035 4.2.2).
  private void serveTcp(Socket socket) throws IOException {
    socket.setSoTimeout(TCP_IDLE_MILLIS);
    socket.setTcpNoDelay(true);
    DataInputStream in = new DataInputStream(socket.getInputStream());
    OutputStream out = socket.getOutputStream();
    byte[] query = new byte[65_535];
    while (!closed) {
      int length;
      try {
        length = in.readUnsignedShort();
        in.readFully(query, 0, length);
      } catch (EOFException | SocketTimeoutException e) {
        return; // the client is done, or idle too long
      }
      byte[] answer = answer(query, length, Answers.Transport.TCP);
      if (answer == null) {
        return; // not a query: nothing more worth reading on this connection
      }
      byte[] framed = new byte[answer.length + 2];
      framed[0] = (byte) (answer.length >>> 8);
      framed[1] = (byte) answer.length;
      System.arraycopy(answer, 0, framed, 2, answer.length);
      out.write(framed);
    }
  }

  private byte[] answer(byte[] query, int length, Answers.Transport transport) {
    ZoneIndex index;
    try {
      index = zone.get();
    } catch (RuntimeException e) {
      // No replica to answer from (closing, or broken): say so rather than leave the client waiting.
      long now = System.nanoTime();
      if (now - lastFailureLog > 60_000_000_000L) {
        lastFailureLog = now;
        log.warn("DNS answers SERVFAIL: no zone to answer from: {}", e.toString());
      }
      return Answers.serverFailure(query, length);
    }
    return Answers.respond(query, length, transport, index, clock.instant());
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(udp);
    closeQuietly(tcp);
    connections.forEach(DnsServer::closeQuietly);
    for (Thread thread : threads) {
      try {
        thread.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable != null) {
      try {
        closeable.close();
      } catch (Exception ignored) {
        // closing is best effort
      }
    }
  }
}
