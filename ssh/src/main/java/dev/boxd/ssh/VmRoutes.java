package dev.boxd.ssh;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Optional;

/**
 * Where the {@link VmGateway} sends a connection, as the control plane answers it. SSH carries
 * no host name, so a connection is routed by the address it was made to and the key it
 * authenticated with (SPEC §6): public addresses are shared across owners, the key names the
 * owner, and the owner has at most one VM at each address. Failures are
 * {@link dev.boxd.core.BoxdException}s whose message the user may see.
 */
public interface VmRoutes {

  /** A VM a connection goes to. */
  record VmRoute(String vmId, String vmName) {}

  /**
   * The VM that the account of the key {@code fingerprint} ({@code SHA256:...}) has at
   * {@code address}; empty when there is none (an unknown key, another owner's address, a VM
   * being destroyed).
   */
  Optional<VmRoute> route(InetAddress address, String fingerprint);

  /**
   * The VM whose own SSH port on the edge is {@code port} (SPEC §12: a per-VM port, 10000-30000),
   * if the account of the key {@code fingerprint} owns it; empty otherwise.
   */
  default Optional<VmRoute> routeByPort(int port, String fingerprint) {
    return Optional.empty();
  }

  /**
   * A TCP connection to port 22 of the VM, waking it first if it sleeps. An {@link IOException}
   * means nothing answered yet (a guest's sshd starts a moment after the VM): the gateway tries
   * again for a while. Any other failure (the VM is stopped or gone) is final.
   */
  SocketChannel connect(VmRoute route, Duration timeout) throws IOException;

  /** The host key the VM's sshd must present, in authorized_keys form ({@code ssh-ed25519 AAAA...}). */
  String hostKey(VmRoute route);
}
