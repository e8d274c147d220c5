package dev.boxd.ssh;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridges MINA's SSH client, which can only connect to an address, to a socket that was made
 * elsewhere (inside the VM network namespace, which the host cannot route to). The relay listens
 * on an ephemeral 127.0.0.1 port for exactly one connection: the gateway's own client, known by
 * its source address, which it pipes to the guest socket. Anything else that connects is turned
 * away. When either side closes, both do; a relay that is never used closes after a timeout or
 * on {@link #close()}.
 */
final class GuestRelay implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(GuestRelay.class);
  private static final AtomicLong IDS = new AtomicLong();
  private static final int BUFFER = 64 * 1024;

  private final SocketChannel guest;
  private final ServerSocketChannel listener;
  private final CompletableFuture<SocketAddress> client = new CompletableFuture<>();
  private final Duration acceptTimeout;
  private volatile SocketChannel local;
  private volatile boolean closed;

  private GuestRelay(SocketChannel guest, ServerSocketChannel listener, Duration acceptTimeout) {
    this.guest = guest;
    this.listener = listener;
    this.acceptTimeout = acceptTimeout;
  }

  /** Starts relaying to {@code guest}, which the relay now owns (and closes). */
  static GuestRelay open(SocketChannel guest, Duration acceptTimeout) throws IOException {
    ServerSocketChannel listener;
    try {
      listener = ServerSocketChannel.open();
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    } catch (IOException e) {
      guest.close();
      throw e;
    }
    var relay = new GuestRelay(guest, listener, acceptTimeout);
    Thread.ofVirtual().name("vm-ssh-relay-" + IDS.incrementAndGet()).start(relay::acceptOne);
    return relay;
  }

  /** Where the gateway's client connects. */
  InetSocketAddress address() throws IOException {
    return (InetSocketAddress) listener.getLocalAddress();
  }

  /** The local address the gateway's client connected from: only that connection is piped. */
  void expect(SocketAddress clientAddress) {
    client.complete(clientAddress);
  }

  private void acceptOne() {
    SocketChannel candidate = null;
    try {
      while (true) {
        candidate = acceptWithin(acceptTimeout).getChannel();
        SocketAddress expected = client.get(acceptTimeout.toMillis(), TimeUnit.MILLISECONDS);
        if (candidate.getRemoteAddress().equals(expected)) {
          break;
        }
        log.warn("relay to a VM: turned away a connection from {} (expected {})", candidate.getRemoteAddress(), expected);
        candidate.close();
        candidate = null;
      }
      listener.close();
      local = candidate;
      if (closed) { // close() ran before local was set, so it could not close it
        throw new IOException("relay closed");
      }
    } catch (Exception e) { // closed before use, timed out, or the client never connected
      closeQuietly(candidate);
      close();
      return;
    }
    SocketChannel l = candidate;
    Thread.ofVirtual().name(Thread.currentThread().getName() + "-up").start(() -> pump(l, guest));
    pump(guest, l);
  }

  private Socket acceptWithin(Duration timeout) throws IOException {
    var socket = listener.socket();
    socket.setSoTimeout((int) Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE));
    return socket.accept();
  }

  // One direction; the SSH stream has no use for half a connection, so the end of either
  // direction closes both sockets, which ends the other pump.
  private void pump(SocketChannel from, SocketChannel to) {
    ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
    try {
      while (from.read(buffer) >= 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          to.write(buffer);
        }
        buffer.clear();
      }
    } catch (IOException e) {
      // a side closed
    } finally {
      close();
    }
  }

  @Override
  public void close() {
    closed = true;
    client.cancel(false);
    closeQuietly(listener);
    closeQuietly(local);
    closeQuietly(guest);
  }

  private static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }
}
