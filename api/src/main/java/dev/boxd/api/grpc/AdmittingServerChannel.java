package dev.boxd.api.grpc;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty's listening channel over a socket made elsewhere (inside a network namespace: a socket
 * keeps the namespace it was made in), admitting each accepted connection through
 * {@link ConnectionLimits} before Netty and gRPC spend anything on it. A connection over a limit
 * is closed at once: the client sees UNAVAILABLE, and the log says why (at most every
 * {@link #WARN_EVERY_NANOS}). It is not told in an HTTP/2 GOAWAY: gRPC clients retry a call a
 * GOAWAY left unprocessed on a new connection at once, over and over. An admitted connection
 * gives its counts back when it closes, however it closes.
 */
final class AdmittingServerChannel extends NioServerSocketChannel {
  private static final Logger log = LoggerFactory.getLogger(AdmittingServerChannel.class);
  static final long WARN_EVERY_NANOS = 10_000_000_000L;

  private final ConnectionLimits limits;
  private final AtomicLong refusedSinceWarning = new AtomicLong();
  private volatile long lastWarning = System.nanoTime() - WARN_EVERY_NANOS;

  AdmittingServerChannel(ServerSocketChannel socket, ConnectionLimits limits) {
    super(socket);
    this.limits = limits;
  }

  @Override
  protected int doReadMessages(List<Object> accepted) throws Exception {
    SocketChannel connection;
    while ((connection = javaChannel().accept()) != null) {
      ConnectionLimits.Admission admission;
      try {
        admission = limits.admit(((InetSocketAddress) connection.getRemoteAddress()).getAddress());
      } catch (IOException e) {
        connection.close(); // gone already
        continue;
      }
      if (admission.refusal().isPresent()) {
        connection.close();
        refused(admission.refusal().get());
        continue;
      }
      try {
        accepted.add(new Admitted(this, connection, admission.release()));
        return 1;
      } catch (RuntimeException e) {
        admission.release().run();
        connection.close();
        throw e;
      }
    }
    return 0;
  }

  // Only the accepting thread calls this.
  private void refused(String why) {
    long refused = refusedSinceWarning.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastWarning >= WARN_EVERY_NANOS) {
      lastWarning = now;
      refusedSinceWarning.set(0);
      log.warn("refused {} connection(s) to the API on {} since the last warning, the latest because {}", refused, localAddress(), why);
    }
  }

  /** A connection that holds its admission until it closes. */
  private static final class Admitted extends NioSocketChannel {
    private final Runnable release;

    Admitted(Channel parent, SocketChannel socket, Runnable release) {
      super(parent, socket);
      this.release = release;
    }

    @Override
    protected void doClose() throws Exception {
      try {
        super.doClose();
      } finally {
        release.run();
      }
    }
  }
}
