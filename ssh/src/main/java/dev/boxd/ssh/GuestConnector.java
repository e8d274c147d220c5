package dev.boxd.ssh;

import dev.boxd.ssh.VmRoutes.VmRoute;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketAddress;
import java.nio.channels.SocketChannel;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.future.ConnectFuture;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.core.CoreModuleProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's SSH client: logs into a VM's sshd as the guest user with the platform key, over a
 * TCP connection the {@link VmRoutes} make (inside the VM network), and accepts only the host key
 * the VM was given. A guest's sshd starts a moment after its VM (and restarts once its key is
 * written), so failures to connect are retried for a while; a wrong host key never is.
 */
final class GuestConnector implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(GuestConnector.class);
  private static final AttributeKey<HostKeyCheck> HOST_KEY = new AttributeKey<>();
  private static final Duration TCP_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration RETRY_PAUSE = Duration.ofMillis(200);

  private final VmRoutes routes;
  private final KeyPair platformKey;
  private final String guestUser;
  private final Duration patience;
  private final SshClient client;

  GuestConnector(VmRoutes routes, KeyPair platformKey, String guestUser, Duration patience) {
    this.routes = routes;
    this.platformKey = platformKey;
    this.guestUser = guestUser;
    this.patience = patience;
    client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier((session, remote, key) -> {
      AttributeRepository context = session.getConnectionContext();
      HostKeyCheck check = context == null ? null : context.getAttribute(HOST_KEY);
      return check != null && check.verify(key);
    });
    // Nothing from the host's own ~/.ssh: no config, no keys, no agent, no passwords.
    client.setHostConfigEntryResolver(HostConfigEntryResolver.EMPTY);
    client.setKeyIdentityProvider(KeyIdentityProvider.EMPTY_KEYS_PROVIDER);
    client.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
    client.setAgentFactory(null);
    CoreModuleProperties.IDLE_TIMEOUT.set(client, Duration.ZERO);
    client.start();
  }

  /** One attempt's host key: the one expected, and whether the server showed another. */
  private static final class HostKeyCheck {
    private final PublicKey expected;
    private final AtomicBoolean mismatch = new AtomicBoolean();

    HostKeyCheck(PublicKey expected) {
      this.expected = expected;
    }

    boolean verify(PublicKey presented) {
      boolean ok = KeyUtils.compareKeys(expected, presented);
      if (!ok) {
        mismatch.set(true);
      }
      return ok;
    }
  }

  /** A VM's sshd presented a host key other than the one the VM was given: never retried. */
  static final class HostKeyMismatchException extends IOException {
    HostKeyMismatchException(String message) {
      super(message);
    }
  }

  /** An authenticated session to the VM's sshd; retries until {@code patience} has passed. */
  ClientSession connect(VmRoute route) throws IOException {
    PublicKey expected = parseHostKey(route);
    long deadline = System.nanoTime() + patience.toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        ClientSession session = attempt(route, expected);
        if (attempt > 1) {
          log.info("VM {}: its sshd answered at attempt {}", route.vmName(), attempt);
        }
        return session;
      } catch (HostKeyMismatchException | InterruptedIOException e) {
        throw e;
      } catch (IOException e) {
        if (System.nanoTime() - deadline > 0) {
          throw new IOException("VM " + route.vmName() + " does not accept SSH connections (" + attempt + " attempts in "
              + patience.toSeconds() + " s; last: " + e.getMessage() + ")", e);
        }
        log.debug("VM {}: SSH attempt {} failed: {}", route.vmName(), attempt, e.toString());
      }
      try {
        Thread.sleep(RETRY_PAUSE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while connecting to VM " + route.vmName());
      }
    }
  }

  private PublicKey parseHostKey(VmRoute route) throws IOException {
    String line = routes.hostKey(route);
    try {
      return PublicKeyEntry.parsePublicKeyEntry(line).resolvePublicKey(null, null, PublicKeyEntryResolver.FAILING);
    } catch (IllegalArgumentException | java.security.GeneralSecurityException e) {
      throw new IOException("the host key of VM " + route.vmName() + " is unreadable: " + e.getMessage(), e);
    }
  }

  private ClientSession attempt(VmRoute route, PublicKey expected) throws IOException {
    SocketChannel guest = routes.connect(route, TCP_TIMEOUT);
    GuestRelay relay = GuestRelay.open(guest, HANDSHAKE_TIMEOUT);
    var check = new HostKeyCheck(expected);
    ClientSession session = null;
    try {
      ConnectFuture future = client.connect(guestUser, relay.address(), AttributeRepository.ofKeyValuePair(HOST_KEY, check), null);
      future.addListener(f -> {
        if (f.isConnected()) {
          SocketAddress from = f.getSession().getIoSession().getLocalAddress();
          relay.expect(from);
        } else {
          relay.close();
        }
      });
      session = future.verify(HANDSHAKE_TIMEOUT).getSession();
      session.addPublicKeyIdentity(platformKey);
      session.auth().verify(HANDSHAKE_TIMEOUT);
      return session;
    } catch (IOException | RuntimeException e) {
      if (session != null) {
        session.close(true);
      }
      relay.close();
      if (check.mismatch.get()) {
        throw new HostKeyMismatchException("VM " + route.vmName() + " presented an SSH host key other than its own: refusing it");
      }
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      client.stop();
    } catch (RuntimeException e) {
      log.debug("stopping the gateway's SSH client: {}", e.toString());
    }
  }
}
