package dev.boxd.edge.expose;

import dev.boxd.core.state.Exposure;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One exposed TCP port: each accepted connection gets a connection to the VM's port through its
 * worker, and bytes are copied both ways, one virtual thread per direction; an end of stream on
 * one side is passed on as a half close, so request-then-close protocols work.
 */
final class TcpForward implements ExposeForwarder.Forward {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final ServerSocketChannel listener;
  private final Exposure exposure;
  private final ExposeForwarder forwarder;
  private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();

  private TcpForward(ServerSocketChannel listener, Exposure exposure, ExposeForwarder forwarder) {
    this.listener = listener;
    this.exposure = exposure;
    this.forwarder = forwarder;
  }

  static TcpForward open(InetSocketAddress address, Exposure exposure, ExposeForwarder forwarder) throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open();
    try {
      listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      listener.bind(address, 128);
    } catch (IOException e) {
      listener.close();
      throw e;
    }
    var forward = new TcpForward(listener, exposure, forwarder);
    Thread.ofVirtual().name("expose-tcp-" + exposure.publicPort()).start(forward::acceptLoop);
    return forward;
  }

  private void acceptLoop() {
    while (listener.isOpen()) {
      try {
        SocketChannel client = listener.accept();
        connections.add(client);
        Thread.ofVirtual().start(() -> serve(client));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(SocketChannel client) {
    SocketChannel vm = null;
    try {
      vm = forwarder.awake(exposure).connect(exposure.vmId(), exposure.vmPort(), CONNECT_TIMEOUT);
      connections.add(vm);
      SocketChannel upstream = vm;
      Thread back = Thread.ofVirtual().start(() -> copy(upstream, client));
      copy(client, upstream);
      back.join();
    } catch (IOException | RuntimeException e) {
      ExposeForwarder.debug("expose: tcp {0} to VM {1} port {2}: {3}", exposure.publicPort(), exposure.vmId(), exposure.vmPort(),
          e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      forget(client);
      forget(vm);
    }
  }

  private static void copy(SocketChannel from, SocketChannel to) {
    ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
    try {
      while (from.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          to.write(buffer);
        }
        buffer.clear();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // One side went away: end both.
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void forget(SocketChannel channel) {
    if (channel != null) {
      connections.remove(channel);
      closeQuietly(channel);
    }
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
    closeQuietly(listener);
    connections.forEach(c -> closeQuietly(c));
    connections.clear();
  }
}
