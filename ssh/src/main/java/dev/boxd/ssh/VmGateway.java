package dev.boxd.ssh;

import dev.boxd.ssh.VmRoutes.VmRoute;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.digest.BuiltinDigests;
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.session.SessionHeartbeatController.HeartbeatType;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.subsystem.SubsystemFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Direct SSH into a VM: {@code ssh boxd@PUBLIC_IP} reaches the VM's own sshd as user
 * {@code boxd}. Public addresses are shared across owners, so a connection is routed by the
 * address it was made to and the key it authenticates with ({@link VmRoutes}); a key whose
 * account has no VM at that address is refused like any unknown key ("Permission denied
 * (publickey)"). The gateway then logs into the VM's sshd with the platform key (checking the
 * VM's host key) and carries shells, execs and the sftp subsystem across, so ssh, scp and sftp
 * work as with a direct login. Separate from the {@link FrontDoor}: different addresses, no verbs.
 *
 * <p>It listens on one port on each public address in use, and {@link #listen} changes that set
 * while it runs, as VMs come and go. On Linux any 127.0.0.0/8 address can be listened on without
 * configuring it. It also listens on each VM's own port on the edge address ({@link #listenVmPorts},
 * SPEC §12): there the port names the VM and the key must be its owner's.
 */
public final class VmGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmGateway.class);
  private static final Duration HEARTBEAT = Duration.ofSeconds(30);
  private static final AttributeKey<VmRoute> ROUTE = new AttributeKey<>();

  private final VmRoutes routes;
  private final int port;
  private final GatewayServer server;
  private final GuestConnector connector;
  private final String hostKey;
  private final Set<SocketAddress> refused = new HashSet<>();
  private final InetAddress edgeAddress;
  private Set<InetAddress> publicAddresses = Set.of();
  private Set<Integer> vmPorts = Set.of();

  private VmGateway(VmRoutes routes, int port, GatewayServer server, GuestConnector connector, String hostKey, InetAddress edgeAddress) {
    this.edgeAddress = edgeAddress;
    this.routes = routes;
    this.port = port;
    this.server = server;
    this.connector = connector;
    this.hostKey = hostKey;
  }

  public static Builder builder(VmRoutes routes) {
    return new Builder(routes);
  }

  /** The port it listens on, on every address. */
  public int port() {
    return port;
  }

  /** The gateway's own host key, which users' ssh sees for every VM, in authorized_keys form. */
  public String hostKey() {
    return hostKey;
  }

  /**
   * Listens on exactly these addresses from now on: starts on new ones and stops on the others.
   * Sessions already open are not touched (see {@link #retainVms}). An address it cannot listen
   * on is logged and tried again at the next call.
   */
  public synchronized void listen(Collection<InetAddress> addresses) {
    publicAddresses = Set.copyOf(addresses);
    bindExactly();
  }

  /** Listens on exactly these ports of the edge address, one per VM that has one, from now on. */
  public synchronized void listenVmPorts(Collection<Integer> ports) {
    vmPorts = Set.copyOf(ports);
    bindExactly();
  }

  /** The edge address, where each VM's own SSH port is. */
  public InetAddress edgeAddress() {
    return edgeAddress;
  }

  private void bindExactly() {
    IoAcceptor acceptor = server.acceptor();
    Set<SocketAddress> wanted = publicAddresses.stream().map(a -> new InetSocketAddress(a, port)).collect(Collectors.toSet());
    vmPorts.forEach(vmPort -> wanted.add(new InetSocketAddress(edgeAddress, vmPort)));
    Set<SocketAddress> bound = new HashSet<>(acceptor.getBoundAddresses());
    for (SocketAddress address : bound) {
      if (!wanted.contains(address)) {
        acceptor.unbind(address);
        log.debug("VM SSH gateway: stopped listening on {}", address);
      }
    }
    for (SocketAddress address : wanted) {
      if (bound.contains(address)) {
        continue;
      }
      try {
        acceptor.bind(address);
        refused.remove(address);
        log.debug("VM SSH gateway: listening on {}", address);
      } catch (IOException e) {
        if (refused.add(address)) { // once per address, not at every change of state
          log.warn("VM SSH gateway cannot listen on {}: {} (is another server listening there, or on every address on that port? "
              + "for the public addresses choose another port with --vm-ssh-port)", address, e.getMessage());
        }
      }
    }
  }

  /** The addresses it listens on now. */
  public Set<InetAddress> addresses() {
    return server.acceptor().getBoundAddresses().stream().map(a -> ((InetSocketAddress) a).getAddress())
        .collect(Collectors.toCollection(() -> new TreeSet<>((a, b) -> a.getHostAddress().compareTo(b.getHostAddress()))));
  }

  /** Closes every session to a VM not in {@code vmIds} (destroyed, or no longer its owner's). */
  public void retainVms(Set<String> vmIds) {
    for (AbstractSession session : server.getActiveSessions()) {
      VmRoute route = session.getAttribute(ROUTE);
      if (route != null && !vmIds.contains(route.vmId()) && session.isAuthenticated()) {
        log.debug("VM SSH gateway: closing a session to VM {}, which is gone", route.vmName());
        session.close(true);
      }
    }
  }

  /** The session to the VM of a user session, made on first use. */
  Upstream upstreamOf(ServerSession session) {
    VmRoute route = session.getAttribute(ROUTE);
    if (route == null) {
      throw new IllegalStateException("this session authenticated without a route to a VM");
    }
    return Upstream.of(session, connector, route);
  }

  private boolean authenticate(String user, PublicKey key, ServerSession session) {
    session.removeAttribute(ROUTE);
    if (key instanceof OpenSshCertificate) {
      return false;
    }
    if (!(session.getIoSession().getLocalAddress() instanceof InetSocketAddress local)) {
      return false;
    }
    String fingerprint = KeyUtils.getFingerPrint(BuiltinDigests.sha256, key);
    try {
      // The gateway's own port on a public address: routed by address and key. Any other port is a VM's own.
      var route = local.getPort() == port ? routes.route(local.getAddress(), fingerprint) : routes.routeByPort(local.getPort(), fingerprint);
      route.ifPresent(r -> session.setAttribute(ROUTE, r));
      log.debug("VM SSH gateway: key {} at {}: {}", fingerprint, local.getAddress().getHostAddress(), route.map(VmRoute::vmName).orElse("no VM"));
      return route.isPresent();
    } catch (RuntimeException e) {
      log.warn("VM SSH gateway: cannot route key {} at {}: {}", fingerprint, local, e.getMessage());
      return false;
    }
  }

  /** Stops listening and closes every session, and every session to a VM. */
  @Override
  public void close() {
    try {
      server.close(true).await(Duration.ofSeconds(10));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stop the VM SSH gateway", e);
    } finally {
      connector.close();
    }
  }

  // SshServer.start() binds its host or, without one, every address; the gateway starts bound to
  // nothing and binds addresses as VMs appear.
  private static final class GatewayServer extends SshServer {
    void startUnbound() {
      checkConfig();
      if (getSessionFactory() == null) {
        setSessionFactory(createSessionFactory());
      }
      acceptor = createAcceptor();
      setupSessionTimeout(getSessionFactory());
    }

    IoAcceptor acceptor() {
      return acceptor;
    }
  }

  public static final class Builder {
    private final VmRoutes routes;
    private int port = 22;
    private Path hostKey;
    private KeyPair platformKey;
    private String guestUser = "boxd";
    private Duration patience = Duration.ofSeconds(20);
    private InetAddress edgeAddress = InetAddress.getLoopbackAddress();

    private Builder(VmRoutes routes) {
      this.routes = Objects.requireNonNull(routes, "routes");
    }

    /** The port on every address (default 22). */
    public Builder port(int listenPort) {
      if (listenPort < 1 || listenPort > 65535) {
        throw new IllegalArgumentException("port " + listenPort + " is not a TCP port (1-65535)");
      }
      this.port = listenPort;
      return this;
    }

    /** File of the gateway's ed25519 host key; generated on first start and reused after (required). */
    public Builder hostKey(Path file) {
      this.hostKey = file;
      return this;
    }

    /** The key the gateway logs into VMs with, which every VM authorizes (required). */
    public Builder platformKey(KeyPair key) {
      this.platformKey = key;
      return this;
    }

    /** The address each VM's own SSH port is on (default: loopback, for one node). */
    public Builder edgeAddress(InetAddress address) {
      this.edgeAddress = Objects.requireNonNull(address, "address");
      return this;
    }

    /** The user the gateway logs into VMs as (default boxd). */
    public Builder guestUser(String user) {
      this.guestUser = Objects.requireNonNull(user, "user");
      return this;
    }

    /** How long to keep trying a VM whose sshd does not answer yet (default 20 s). */
    public Builder patience(Duration wait) {
      this.patience = Objects.requireNonNull(wait, "wait");
      return this;
    }

    public VmGateway start() throws IOException {
      Objects.requireNonNull(hostKey, "hostKey: the gateway needs a host key file");
      Objects.requireNonNull(platformKey, "platformKey: the gateway needs the key VMs authorize");
      Files.createDirectories(hostKey.toAbsolutePath().getParent());
      var keys = new SimpleGeneratorHostKeyProvider(hostKey);
      keys.setAlgorithm("EdDSA");
      keys.setKeySize(256);
      // Loaded now, not at the first connection: generated once, before anyone can race for it.
      Iterator<KeyPair> loaded = keys.loadKeys(null).iterator();
      if (!loaded.hasNext()) {
        throw new IOException("cannot load or make the gateway host key " + hostKey);
      }
      String publicHostKey = PublicKeyEntry.toString(loaded.next().getPublic());
      var server = (GatewayServer) ServerBuilder.builder().factory(GatewayServer::new).build();
      server.setPort(port);
      server.setKeyPairProvider(keys);
      server.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
      server.setPasswordAuthenticator(null);
      server.setKeyboardInteractiveAuthenticator(null);
      server.setGSSAuthenticator(null);
      server.setHostBasedAuthenticator(null);
      server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
      server.setAgentFactory(null);
      server.setChannelFactories(List.of(ProxyChannel.FACTORY));
      var connector = new GuestConnector(routes, platformKey, guestUser, patience);
      var gateway = new VmGateway(routes, port, server, connector, publicHostKey, edgeAddress);
      server.setPublickeyAuthenticator(gateway::authenticate);
      server.setShellFactory(channel -> new ProxyCommand(gateway, ProxyCommand.Kind.SHELL, ""));
      server.setCommandFactory((channel, command) -> new ProxyCommand(gateway, ProxyCommand.Kind.EXEC, command));
      server.setSubsystemFactories(List.of(new SubsystemFactory() {
        @Override
        public String getName() {
          return "sftp";
        }

        @Override
        public Command createSubsystem(ChannelSession channel) {
          return new ProxyCommand(gateway, ProxyCommand.Kind.SUBSYSTEM, "sftp");
        }
      }));
      CoreModuleProperties.SERVER_IDENTIFICATION.set(server, "boxd");
      CoreModuleProperties.IDLE_TIMEOUT.set(server, Duration.ZERO);
      CoreModuleProperties.SOCKET_KEEPALIVE.set(server, true);
      server.setSessionHeartbeat(HeartbeatType.IGNORE, HEARTBEAT);
      try {
        server.startUnbound();
      } catch (RuntimeException e) {
        connector.close();
        throw e;
      }
      log.info("VM SSH gateway on port {} (host key {})", port, hostKey);
      return gateway;
    }
  }
}
