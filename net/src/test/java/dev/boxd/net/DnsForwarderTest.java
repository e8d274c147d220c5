package dev.boxd.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The guests' DNS relay under a flood: queries come from sockets inside a namespace of the
 * test's own, as a VM's would, toward an upstream that never answers and one that does. Needs
 * root.
 */
class DnsForwarderTest {
  private static final InetSocketAddress LISTEN = new InetSocketAddress("127.0.0.1", 53);
  private final NetworkNamespace namespace = new NetworkNamespace("bxdns" + ProcessHandle.current().pid() % 100000);
  private final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeEach
  void create() {
    namespace.create();
  }

  @AfterEach
  void delete() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    namespace.delete();
  }

  @Test
  void aFloodKeepsTheServersFilesBoundedAndLaterQueriesAreAnswered() throws Exception {
    DatagramChannel silent = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0)); // reads nothing
    closing.add(silent);
    Responder answering = Responder.start();
    closing.add(answering);
    long before = openFiles();
    DnsForwarder relay = DnsForwarder.start(namespace, LISTEN, List.of((InetSocketAddress) silent.getLocalAddress(), answering.address()));
    closing.add(relay);

    // Four guests' worth of sources, 20,000 queries as fast as the sockets take them.
    var peak = new AtomicLong();
    var flooding = new AtomicBoolean(true);
    Thread sampler = Thread.ofPlatform().start(() -> {
      while (flooding.get()) {
        peak.accumulateAndGet(openFiles(), Math::max);
        Thread.onSpinWait();
      }
    });
    List<DatagramChannel> sources = new ArrayList<>();
    for (int i = 2; i <= 5; i++) {
      sources.add(inside(new InetSocketAddress("127.0.0." + i, 0)));
    }
    closing.addAll(sources);
    long started = System.nanoTime();
    for (int i = 0; i < 20_000; i++) {
      sources.get(i % sources.size()).send(ByteBuffer.wrap(query(i)), LISTEN);
    }
    long sentMillis = (System.nanoTime() - started) / 1_000_000;
    // Let the flood's in-flight queries time out at both upstreams while we watch.
    long floodEnd = System.nanoTime() + Duration.ofSeconds(4).toNanos();
    while (System.nanoTime() < floodEnd) {
      peak.accumulateAndGet(openFiles(), Math::max);
      Thread.sleep(20);
    }
    flooding.set(false);
    sampler.join();
    long after = openFiles();
    System.out.printf("DNS flood: 20000 queries sent in %d ms; open files before %d, peak during %d, after %d%n", sentMillis, before,
        peak.get(), after);
    assertThat(peak.get() - before).as("files the relay holds during the flood").isLessThanOrEqualTo(16);
    assertThat(after - before).as("files the relay holds after the flood").isLessThanOrEqualTo(8);

    // A guest's normal query is still answered (the silent upstream first, then the one that answers).
    try (DatagramChannel guest = inside(new InetSocketAddress("127.0.0.9", 0))) {
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(ask(guest, 7777)).isEqualTo(0));
    }
  }

  @Test
  void oneSourceBeyondItsShareIsRefusedAtOnceOthersAreStillServed() throws Exception {
    DatagramChannel silent = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
    closing.add(silent);
    DnsForwarder relay = DnsForwarder.start(namespace, LISTEN, List.of((InetSocketAddress) silent.getLocalAddress()));
    closing.add(relay);
    try (DatagramChannel flooder = inside(new InetSocketAddress("127.0.0.2", 0))) {
      for (int i = 0; i < DnsForwarder.MAX_IN_FLIGHT_PER_SOURCE + 10; i++) {
        flooder.send(ByteBuffer.wrap(query(i)), LISTEN);
      }
      // The ones over its share come back REFUSED (rcode 5) at once; the rest wait on the silent upstream.
      assertThat(answerCode(flooder, Duration.ofMillis(500))).isEqualTo(5);
      assertThat(relay.inFlight()).isEqualTo(DnsForwarder.MAX_IN_FLIGHT_PER_SOURCE);
      // Another guest still gets its query relayed, and an answer (SERVFAIL) once the upstream times out.
      try (DatagramChannel other = inside(new InetSocketAddress("127.0.0.3", 0))) {
        assertThat(ask(other, 4242)).isEqualTo(2);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> relay.inFlight() == 0);
    }
  }

  // A query from a guest socket, and the answer's rcode; -1 if none came within 5 s.
  private static int ask(DatagramChannel guest, int id) throws IOException {
    guest.send(ByteBuffer.wrap(query(id)), LISTEN);
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < deadline) {
      ByteBuffer reply = receive(guest, Duration.ofNanos(deadline - System.nanoTime()));
      if (reply == null) {
        return -1;
      }
      if (reply.getShort(0) == (short) id) {
        return reply.get(3) & 0x0f;
      }
    }
    return -1;
  }

  private static int answerCode(DatagramChannel guest, Duration timeout) throws IOException {
    ByteBuffer reply = receive(guest, timeout);
    return reply == null ? -1 : reply.get(3) & 0x0f;
  }

  private static ByteBuffer receive(DatagramChannel channel, Duration timeout) throws IOException {
    channel.socket().setSoTimeout((int) Math.max(1, timeout.toMillis()));
    var packet = new java.net.DatagramPacket(new byte[4096], 4096);
    try {
      channel.socket().receive(packet);
    } catch (SocketTimeoutException e) {
      return null;
    }
    return ByteBuffer.wrap(packet.getData(), 0, packet.getLength());
  }

  // A UDP socket of the namespace, as a guest's resolver would have.
  private DatagramChannel inside(InetSocketAddress bind) {
    return LinuxNamespaces.inNetworkNamespace(namespace.path(), () -> DatagramChannel.open().bind(bind));
  }

  // An A query for example.test with id {@code id} and recursion desired.
  static byte[] query(int id) {
    ByteBuffer q = ByteBuffer.allocate(64);
    q.putShort((short) id).putShort((short) 0x0100).putShort((short) 1).putShort((short) 0).putShort((short) 0).putShort((short) 0);
    q.put((byte) 7).put("example".getBytes()).put((byte) 4).put("test".getBytes()).put((byte) 0).putShort((short) 1).putShort((short) 1);
    byte[] out = new byte[q.position()];
    q.flip().get(out);
    return out;
  }

  private static long openFiles() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** An upstream on the host's loopback that answers every query: the question back, no records, NOERROR. */
  static final class Responder implements AutoCloseable {
    private final DatagramChannel channel;
    final AtomicInteger answered = new AtomicInteger();

    private Responder(DatagramChannel channel) {
      this.channel = channel;
    }

    static Responder start() throws IOException {
      var responder = new Responder(DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
      Thread.ofVirtual().start(responder::serve);
      return responder;
    }

    InetSocketAddress address() throws IOException {
      return (InetSocketAddress) channel.getLocalAddress();
    }

    private void serve() {
      ByteBuffer buffer = ByteBuffer.allocate(4096);
      while (channel.isOpen()) {
        try {
          buffer.clear();
          var from = channel.receive(buffer);
          buffer.flip();
          buffer.put(2, (byte) (buffer.get(2) | 0x80)).put(3, (byte) 0x80);
          channel.send(buffer, from);
          answered.incrementAndGet();
        } catch (IOException e) {
          return;
        }
      }
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
