package dev.boxd.ssh;

import dev.boxd.ssh.VmRoutes.VmRoute;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's SSH session to a VM on behalf of one user session: made when the user's session
 * opens its first channel, shared by all its channels (one TCP connection to the guest per user
 * connection, as with a direct login), closed with the user's session; and the user's session
 * is closed when the VM's session ends.
 */
final class Upstream {
  private static final Logger log = LoggerFactory.getLogger(Upstream.class);
  private static final AttributeKey<Upstream> ATTRIBUTE = new AttributeKey<>();

  private final CompletableFuture<ClientSession> ready = new CompletableFuture<>();
  private final Thread connecting;

  private Upstream(ServerSession downstream, GuestConnector connector, VmRoute route) {
    connecting = Thread.ofVirtual().name("vm-ssh-connect-" + route.vmName()).unstarted(() -> {
      long started = System.nanoTime();
      try {
        ClientSession session = connector.connect(route);
        log.info("SSH into VM {} ({}) from {}: guest session in {} ms", route.vmName(), route.vmId(), downstream.getClientAddress(),
            (System.nanoTime() - started) / 1_000_000);
        session.addCloseFutureListener(f -> downstream.close(false));
        if (!ready.complete(session)) { // the user left while we connected
          session.close(true);
        }
      } catch (Throwable e) {
        log.info("SSH into VM {} ({}) from {} failed: {}", route.vmName(), route.vmId(), downstream.getClientAddress(), e.getMessage());
        ready.completeExceptionally(e);
      }
    });
  }

  /** The upstream of a user session, started on first use. */
  static Upstream of(ServerSession downstream, GuestConnector connector, VmRoute route) {
    Upstream upstream;
    synchronized (downstream) {
      upstream = downstream.getAttribute(ATTRIBUTE);
      if (upstream != null) {
        return upstream;
      }
      upstream = new Upstream(downstream, connector, route);
      downstream.setAttribute(ATTRIBUTE, upstream);
    }
    upstream.connecting.start();
    Upstream started = upstream;
    downstream.addCloseFutureListener(f -> started.close());
    return upstream;
  }

  /** Waits for the session to the VM. */
  ClientSession await() throws IOException {
    try {
      return ready.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the VM's SSH session");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw new IOException(io.getMessage(), io);
      }
      throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
    }
  }

  private void close() {
    if (ready.completeExceptionally(new IOException("the SSH connection closed"))) {
      connecting.interrupt();
    }
    ready.thenAccept(session -> {
      log.debug("closing the VM session {}", session);
      session.close(true);
    });
  }
}
