package dev.boxd.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS for the guests: listens on the gateway address inside the VM namespace and relays each
 * query to the host's resolvers, answering with the first reply. VMs see one resolver at their
 * gateway whatever the host uses; the host's resolvers stay unreachable to them directly. UDP
 * only (guests retry over UDP; answers over 4 KiB are truncated by upstream).
 *
 * <p>A guest decides how fast it sends, so nothing here grows with its rate: one socket per
 * upstream, opened at start, carries every query (each under a fresh random id, mapped back to
 * the guest's), and at most {@link #MAX_IN_FLIGHT} queries wait for an answer, at most
 * {@link #MAX_IN_FLIGHT_PER_SOURCE} of them from one guest address. A query beyond either is
 * answered REFUSED at once; one no upstream answered within {@link #UPSTREAM_TIMEOUT} each is
 * answered SERVFAIL. The relay holds 1 + upstreams files and 2 + upstreams threads for good.
 */
public final class DnsForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsForwarder.class);
  /** Queries waiting for an upstream, all guests together. */
  public static final int MAX_IN_FLIGHT = 512;
  /** Queries waiting for an upstream from one guest address (a resolver sends a few at a time). */
  public static final int MAX_IN_FLIGHT_PER_SOURCE = 64;
  /** How long one upstream has to answer before the next is asked (glibc waits 5 s in all). */
  static final Duration UPSTREAM_TIMEOUT = Duration.ofMillis(1500);
  private static final Duration SWEEP_EVERY = Duration.ofMillis(100);
  private static final int MAX_MESSAGE = 4096;
  private static final int HEADER = 12;
  private static final int SERVFAIL = 2;
  private static final int REFUSED = 5;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final String name;
  private final DatagramChannel listener;
  private final List<DatagramChannel> upstreams;
  private final Object lock = new Object();
  // Upstream id -> query; in the order of their deadlines (a retry is re-inserted at the end).
  private final LinkedHashMap<Integer, Pending> pending = new LinkedHashMap<>(); // guarded by lock
  private final Map<InetAddress, Integer> perSource = new HashMap<>(); // guarded by lock
  private volatile boolean closed;

  /** A guest's query while an upstream has it: under {@code upstreamId} at upstream {@code upstream}. */
  private record Pending(SocketAddress client, InetAddress source, short guestId, byte[] query, int upstream, long deadline) {}

  private DnsForwarder(String name, DatagramChannel listener, List<DatagramChannel> upstreams) {
    this.name = name;
    this.listener = listener;
    this.upstreams = upstreams;
  }

  /**
   * Binds {@code listen} (port 53 of the gateway) inside the namespace and starts relaying. The
   * upstream sockets are opened in the caller's namespace, where the host's resolvers are.
   */
  public static DnsForwarder start(NetworkNamespace namespace, InetSocketAddress listen, List<InetSocketAddress> upstreams) {
    List<DatagramChannel> channels = new ArrayList<>();
    DatagramChannel channel = null;
    try {
      for (InetSocketAddress upstream : upstreams) {
        channels.add(DatagramChannel.open().connect(upstream));
      }
      channel = LinuxNamespaces.inNetworkNamespace(namespace.path(), () -> {
        DatagramChannel c = DatagramChannel.open();
        c.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        return c.bind(listen);
      });
    } catch (IOException | RuntimeException e) {
      channels.forEach(DnsForwarder::closeQuietly);
      throw e instanceof IOException io ? new java.io.UncheckedIOException("starting the guests' DNS relay: " + io.getMessage(), io)
          : (RuntimeException) e;
    }
    var forwarder = new DnsForwarder(namespace.name(), channel, List.copyOf(channels));
    Thread.ofVirtual().name("dns-" + namespace.name()).start(forwarder::serve);
    for (int i = 0; i < channels.size(); i++) {
      int upstream = i;
      Thread.ofVirtual().name("dns-" + namespace.name() + "-up" + i).start(() -> forwarder.answers(upstream));
    }
    Thread.ofVirtual().name("dns-" + namespace.name() + "-timeouts").start(forwarder::expire);
    log.info("DNS for guests on {} in {}, upstream {}", listen, namespace.name(), upstreams);
    return forwarder;
  }

  /** The nameservers of the host's /etc/resolv.conf, port 53. */
  public static List<InetSocketAddress> hostResolvers() {
    List<InetSocketAddress> found = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/etc/resolv.conf"))) {
        String[] words = line.trim().split("\\s+");
        if (words.length >= 2 && words[0].equals("nameserver")) {
          found.add(new InetSocketAddress(InetAddress.getByName(words[1]), 53));
        }
      }
    } catch (IOException e) {
      log.warn("cannot read /etc/resolv.conf: {}", e.getMessage());
    }
    return found;
  }

  /** Queries waiting for an upstream now. */
  public int inFlight() {
    synchronized (lock) {
      return pending.size();
    }
  }

  private void serve() {
    ByteBuffer buffer = ByteBuffer.allocate(MAX_MESSAGE);
    while (!closed) {
      SocketAddress client;
      try {
        buffer.clear();
        client = listener.receive(buffer);
      } catch (IOException e) {
        if (!closed) {
          log.warn("DNS listener in {} failed: {}", name, e.getMessage());
        }
        return;
      }
      buffer.flip();
      if (buffer.remaining() < HEADER || (buffer.get(2) & 0x80) != 0 || !(client instanceof InetSocketAddress from)) {
        continue; // not a query: nothing to answer
      }
      byte[] query = new byte[buffer.remaining()];
      buffer.get(query);
      admit(query, from);
    }
  }

  private void admit(byte[] query, InetSocketAddress client) {
    short guestId = (short) (((query[0] & 0xff) << 8) | (query[1] & 0xff));
    int upstreamId;
    synchronized (lock) {
      int fromSource = perSource.getOrDefault(client.getAddress(), 0);
      if (upstreams.isEmpty() || pending.size() >= MAX_IN_FLIGHT || fromSource >= MAX_IN_FLIGHT_PER_SOURCE) {
        upstreamId = -1;
      } else {
        perSource.put(client.getAddress(), fromSource + 1);
        upstreamId = freeId();
        pending.put(upstreamId, new Pending(client, client.getAddress(), guestId, query, 0, deadline()));
      }
    }
    if (upstreamId < 0) {
      reply(status(query, REFUSED), client);
    } else {
      forward(query, upstreamId, 0);
    }
  }

  // A random id no waiting query has: an off-path host cannot guess which answer we expect.
  private int freeId() {
    while (true) {
      int id = RANDOM.nextInt(1 << 16);
      if (!pending.containsKey(id)) {
        return id;
      }
    }
  }

  private static long deadline() {
    return System.nanoTime() + UPSTREAM_TIMEOUT.toNanos();
  }

  private void forward(byte[] query, int upstreamId, int upstream) {
    ByteBuffer out = ByteBuffer.wrap(query.clone());
    out.putShort(0, (short) upstreamId);
    try {
      upstreams.get(upstream).write(out);
    } catch (IOException e) {
      log.debug("DNS upstream {} of {} failed: {}", upstream, name, e.getMessage()); // the timeout moves on
    }
  }

  // One upstream's answers: each goes back to the guest that asked, under the guest's own id.
  private void answers(int upstream) {
    DatagramChannel channel = upstreams.get(upstream);
    ByteBuffer buffer = ByteBuffer.allocate(MAX_MESSAGE);
    while (!closed) {
      try {
        buffer.clear();
        channel.read(buffer);
      } catch (PortUnreachableException e) {
        continue; // an earlier query found no one there: the timeout moves on
      } catch (IOException e) {
        if (!closed) {
          log.warn("DNS upstream {} of {} failed: {}", upstream, name, e.getMessage());
        }
        return;
      }
      buffer.flip();
      if (buffer.remaining() < HEADER) {
        continue;
      }
      Pending query;
      synchronized (lock) {
        int id = buffer.getShort(0) & 0xffff;
        query = pending.get(id);
        if (query == null || query.upstream() != upstream) {
          continue; // late (timed out) or not ours
        }
        done(id, query);
      }
      buffer.putShort(0, query.guestId());
      reply(buffer, query.client());
    }
  }

  // Timed-out queries go to the next upstream; after the last, the guest gets SERVFAIL.
  private void expire() {
    while (!closed) {
      try {
        Thread.sleep(SWEEP_EVERY);
      } catch (InterruptedException e) {
        return;
      }
      List<Map.Entry<Integer, Pending>> retries = new ArrayList<>();
      List<Pending> failed = new ArrayList<>();
      synchronized (lock) {
        long now = System.nanoTime();
        Iterator<Map.Entry<Integer, Pending>> it = pending.entrySet().iterator();
        while (it.hasNext()) {
          Map.Entry<Integer, Pending> entry = it.next();
          Pending p = entry.getValue();
          if (p.deadline() - now > 0) {
            break; // in deadline order: the rest are later
          }
          it.remove();
          if (p.upstream() + 1 < upstreams.size()) {
            retries.add(Map.entry(entry.getKey(), new Pending(p.client(), p.source(), p.guestId(), p.query(), p.upstream() + 1, deadline())));
          } else {
            perSource.computeIfPresent(p.source(), (k, n) -> n > 1 ? n - 1 : null);
            failed.add(p);
          }
        }
        retries.forEach(r -> pending.put(r.getKey(), r.getValue()));
      }
      retries.forEach(r -> forward(r.getValue().query(), r.getKey(), r.getValue().upstream()));
      failed.forEach(p -> reply(status(p.query(), SERVFAIL), p.client()));
    }
  }

  private void done(int id, Pending query) {
    pending.remove(id);
    perSource.computeIfPresent(query.source(), (k, n) -> n > 1 ? n - 1 : null);
  }

  // The query turned into an answer carrying only {@code rcode} (the question stays, as resolvers check it).
  private static ByteBuffer status(byte[] query, int rcode) {
    byte[] answer = query.clone();
    answer[2] = (byte) ((answer[2] | 0x80) & ~0x04); // QR set, AA clear; opcode and RD kept
    answer[3] = (byte) (0x80 | rcode); // RA set
    return ByteBuffer.wrap(answer);
  }

  private void reply(ByteBuffer answer, SocketAddress client) {
    try {
      listener.send(answer, client);
    } catch (IOException e) {
      log.debug("DNS answer to {} in {} failed: {}", client, name, e.getMessage());
    }
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(listener);
    upstreams.forEach(DnsForwarder::closeQuietly);
  }

  private static void closeQuietly(DatagramChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
