package dev.boxd.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS for the guests: listens on the gateway address inside the VM namespace and relays each
 * query, unchanged, to the host's resolvers, answering with the first reply. VMs see one
 * resolver at their gateway whatever the host uses; the host's resolvers stay unreachable to
 * them directly. UDP only (guests retry over UDP; answers over 4 KiB are truncated by upstream).
 */
public final class DnsForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsForwarder.class);
  private static final int MAX_MESSAGE = 4096;
  private static final int UPSTREAM_TIMEOUT_MS = 3000;

  private final DatagramChannel listener;
  private final List<InetSocketAddress> upstreams;
  private volatile boolean closed;

  private DnsForwarder(DatagramChannel listener, List<InetSocketAddress> upstreams) {
    this.listener = listener;
    this.upstreams = upstreams;
  }

  /** Binds {@code listen} (port 53 of the gateway) inside the namespace and starts relaying. */
  public static DnsForwarder start(NetworkNamespace namespace, InetSocketAddress listen, List<InetSocketAddress> upstreams) {
    DatagramChannel channel = LinuxNamespaces.inNetworkNamespace(namespace.path(), () -> {
      DatagramChannel c = DatagramChannel.open();
      c.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      return c.bind(listen);
    });
    var forwarder = new DnsForwarder(channel, List.copyOf(upstreams));
    Thread.ofVirtual().name("dns-" + namespace.name()).start(forwarder::serve);
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

  private void serve() {
    while (!closed) {
      ByteBuffer query = ByteBuffer.allocate(MAX_MESSAGE);
      SocketAddress client;
      try {
        client = listener.receive(query);
      } catch (IOException e) {
        if (!closed) {
          log.warn("DNS listener failed: {}", e.getMessage());
        }
        return;
      }
      query.flip();
      Thread.ofVirtual().start(() -> relay(query, client));
    }
  }

  private void relay(ByteBuffer query, SocketAddress client) {
    for (InetSocketAddress upstream : upstreams) {
      try (DatagramChannel out = DatagramChannel.open()) {
        out.connect(upstream);
        out.write(query.duplicate());
        out.socket().setSoTimeout(UPSTREAM_TIMEOUT_MS);
        byte[] answer = new byte[MAX_MESSAGE];
        var packet = new java.net.DatagramPacket(answer, answer.length);
        out.socket().receive(packet);
        listener.send(ByteBuffer.wrap(answer, 0, packet.getLength()), client);
        return;
      } catch (IOException e) {
        log.debug("DNS upstream {} failed: {}", upstream, e.getMessage());
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
