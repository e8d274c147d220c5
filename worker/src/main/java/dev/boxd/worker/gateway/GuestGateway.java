package dev.boxd.worker.gateway;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Verbs;
import dev.boxd.gateway.GatewayConnection;
import dev.boxd.gateway.GatewayFrames.Hello;
import dev.boxd.gateway.GatewaySession;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.StandardSocketOptions;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway the in-VM {@code boxd} CLI talks to ({@code docs/gateway-protocol.md}): a TCP
 * listener on the bridge's gateway address, inside the VM network namespace. The caller is the VM
 * whose address the connection comes from, and it acts as that VM's owner. That is sound only
 * because a VM cannot send from another address: the network's anti-spoof rules drop such frames
 * at the VM's tap, before they reach this listener.
 */
public final class GuestGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GuestGateway.class);

  /** The gateway's port on the bridge address. */
  public static final int PORT = dev.boxd.net.HostNetwork.GUEST_CLI_PORT;

  /** Who a source address is: the operations of the VM at that address, bound to its owner. */
  @FunctionalInterface
  public interface Callers {
    /**
     * Empty for an address that is no VM's; throws a {@link BoxdException} for a VM the gateway
     * serves nothing (an isolated VM, SPEC §12), whose message the client then shows.
     */
    Optional<Operations> byAddress(InetAddress source);
  }

  /**
   * What VMs may hold of the gateway: a connection must send its hello within
   * {@code helloDeadline}, one source address may have {@code connectionsPerAddress} open at once
   * and the VMs of one owner {@code connectionsPerOwner}. Every connection is a thread, a socket
   * and up to {@link GatewaySession#INPUT_CAPACITY} bytes of buffered stdin on the host, and VMs
   * are not trusted.
   */
  public record Limits(Duration helloDeadline, int connectionsPerAddress, int connectionsPerOwner) {
    /** Generous for a fan-out from one VM (each verb is one connection), small for the host. */
    public static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), 128, 256);
  }

  private final ServerSocketChannel listener;
  private final Callers callers;
  private final Limits limits;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private final Map<InetAddress, AtomicInteger> openByAddress = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> openByOwner = new ConcurrentHashMap<>();
  private final AtomicLong bufferedInput = new AtomicLong();
  private volatile boolean closed;

  private GuestGateway(ServerSocketChannel listener, Callers callers, Limits limits) {
    this.listener = listener;
    this.callers = callers;
    this.limits = limits;
  }

  /** Starts serving on {@code listener}, already bound (in the VM network namespace). */
  public static GuestGateway serve(ServerSocketChannel listener, Callers callers) {
    return serve(listener, callers, Limits.DEFAULT);
  }

  /** {@link #serve(ServerSocketChannel, Callers)} with other limits. */
  public static GuestGateway serve(ServerSocketChannel listener, Callers callers, Limits limits) {
    var gateway = new GuestGateway(listener, callers, limits);
    Thread.ofVirtual().name("gateway-accept").start(gateway::acceptLoop);
    try {
      log.info("in-VM gateway on {}", listener.getLocalAddress());
    } catch (IOException e) {
      // only the log line is lost
    }
    return gateway;
  }

  public InetSocketAddress address() {
    try {
      return (InetSocketAddress) listener.getLocalAddress();
    } catch (IOException e) {
      throw new IllegalStateException("the gateway listener is closed", e);
    }
  }

  /** Connections being served now. */
  int openConnections() {
    return open.size();
  }

  /** Bytes of client stdin the gateway holds now, over all connections. */
  long bufferedInputBytes() {
    return bufferedInput.get();
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel connection;
      try {
        connection = listener.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          log.warn("gateway accept failed: {}", e.toString());
        }
        continue;
      }
      open.add(connection);
      InetAddress source = connection.socket().getInetAddress();
      AtomicInteger fromSource = openByAddress.computeIfAbsent(source, a -> new AtomicInteger());
      int count = fromSource.incrementAndGet();
      Thread.ofVirtual().name("gateway-" + source.getHostAddress()).start(() -> {
        try (connection) {
          if (count > limits.connectionsPerAddress()) {
            refuse(new BufferedOutputStream(Channels.newOutputStream(connection)), ErrorCode.RESOURCE_EXHAUSTED,
                "boxd gateway: " + source.getHostAddress() + " has " + limits.connectionsPerAddress()
                    + " connections open, the most one VM may have; wait for some to end");
          } else {
            serve(connection);
          }
        } catch (IOException e) {
          log.debug("gateway connection ended: {}", e.toString());
        } finally {
          open.remove(connection);
          fromSource.decrementAndGet();
        }
      });
    }
  }

  private void serve(SocketChannel connection) throws IOException {
    connection.setOption(StandardSocketOptions.TCP_NODELAY, true);
    var in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(connection), 16 * 1024));
    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(connection), 16 * 1024);
    InetAddress source = connection.socket().getInetAddress();
    Hello hello;
    // Whichever comes first, the hello or its deadline, decides; the other then does nothing.
    var decided = new java.util.concurrent.atomic.AtomicBoolean();
    Thread deadline = Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(limits.helloDeadline());
        if (decided.compareAndSet(false, true)) {
          refuse(out, ErrorCode.DEADLINE_EXCEEDED, "boxd gateway: no hello within " + limits.helloDeadline().toSeconds() + " s");
          connection.close(); // the read of the hello then fails
        }
      } catch (InterruptedException | IOException e) {
        // the hello came, or the connection is gone
      }
    });
    try {
      hello = GatewayConnection.readHello(in);
      if (!decided.compareAndSet(false, true)) {
        return; // too late: refused and closed already
      }
    } catch (ProtocolException e) {
      if (decided.compareAndSet(false, true)) {
        refuse(out, ErrorCode.INVALID_ARGUMENT, "boxd gateway: " + e.getMessage());
      }
      return;
    } finally {
      deadline.interrupt();
    }
    Optional<Operations> ops;
    try {
      ops = callers.byAddress(source);
    } catch (BoxdException e) {
      refuse(out, e.code(), e.getMessage());
      return;
    }
    if (ops.isEmpty()) {
      refuse(out, ErrorCode.PERMISSION_DENIED, "boxd gateway: " + source.getHostAddress() + " is not a VM of this cluster");
      return;
    }
    String owner;
    try {
      owner = ops.get().whoami().userId();
    } catch (BoxdException e) {
      refuse(out, e.code(), "boxd gateway: " + e.getMessage());
      return;
    }
    AtomicInteger ofOwner = openByOwner.computeIfAbsent(owner, o -> new AtomicInteger());
    try {
      if (ofOwner.incrementAndGet() > limits.connectionsPerOwner()) {
        refuse(out, ErrorCode.RESOURCE_EXHAUSTED, "boxd gateway: the VMs of user " + owner + " have "
            + limits.connectionsPerOwner() + " connections open, the most one user may have; wait for some to end");
        return;
      }
      serve(connection, in, out, hello, ops.get());
    } finally {
      ofOwner.decrementAndGet();
    }
  }

  // The hello is read and the caller admitted: run the verb, feed it the client's frames.
  private void serve(SocketChannel connection, DataInputStream in, OutputStream out, Hello hello, Operations ops) {
    String source = connection.socket().getInetAddress().getHostAddress();
    var session = new GatewaySession(hello, GatewaySession.Client.IN_VM, out, bufferedInput);
    var client = GatewayConnection.Client.of(connection, source);
    GatewayConnection.serve(client, in, out, session, terminal -> Verbs.run(hello.argv(), ops, terminal), log::debug);
  }

  private static void refuse(OutputStream out, ErrorCode code, String message) throws IOException {
    GatewayConnection.refuse(out, code, message);
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (SocketChannel connection : open) {
      try {
        connection.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
