package dev.boxd.ssh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.session.SessionHeartbeatController.HeartbeatType;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH front door: {@code ssh HOST VERB ARGS} runs one verb, {@code ssh HOST} opens the
 * {@code boxd>} prompt. Users are their public keys: a key linked to an account gets that
 * account's {@link dev.boxd.verbs.Operations}; any other key is accepted only to be told how to
 * register it. No passwords, no forwarding, no subsystems.
 *
 * <pre>
 * try (var door = FrontDoor.builder(accounts).listen("0.0.0.0", 2222).hostKey(dataDir.resolve("ssh_host_ed25519_key"))
 *     .registrationUrl("https://boxd.example.com/register?code=").start()) { ... }
 * </pre>
 */
public final class FrontDoor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FrontDoor.class);
  /** Keeps NAT and firewall state alive and notices dead peers; sessions themselves never idle out. */
  private static final Duration HEARTBEAT = Duration.ofSeconds(30);

  private final SshServer server;

  private FrontDoor(SshServer server) {
    this.server = server;
  }

  public static Builder builder(Accounts accounts) {
    return new Builder(accounts);
  }

  /** The address it listens on; the port is the real one when 0 was asked for. */
  public InetSocketAddress address() {
    return new InetSocketAddress(server.getHost(), server.getPort());
  }

  public int port() {
    return server.getPort();
  }

  /** Stops listening and closes every session. */
  @Override
  public void close() {
    try {
      server.stop(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stop the SSH front door", e);
    }
  }

  public static final class Builder {
    private final Accounts accounts;
    private String host = "127.0.0.1";
    private int port = 2222;
    private Path hostKey;
    private String registrationUrl = "";

    private Builder(Accounts accounts) {
      this.accounts = Objects.requireNonNull(accounts, "accounts");
    }

    /** Address and port to listen on (default 127.0.0.1:2222; port 0 picks a free one). */
    public Builder listen(String listenHost, int listenPort) {
      this.host = Objects.requireNonNull(listenHost, "listenHost");
      this.port = listenPort;
      return this;
    }

    /** File of the ed25519 host key; generated on first start and reused after (required). */
    public Builder hostKey(Path file) {
      this.hostKey = file;
      return this;
    }

    /**
     * Where an unknown key registers: {@code prefix} + its code, such as
     * {@code https://boxd.example.com/register?code=}. Without one (the default) the key is only
     * told to ask the operator.
     */
    public Builder registrationUrl(String prefix) {
      this.registrationUrl = Objects.requireNonNull(prefix, "prefix");
      return this;
    }

    public FrontDoor start() throws IOException {
      Objects.requireNonNull(hostKey, "hostKey: the front door needs a host key file");
      Path parent = hostKey.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      var server = SshServer.setUpDefaultServer();
      server.setHost(host);
      server.setPort(port);
      server.setKeyPairProvider(hostKeys(hostKey));
      server.setPublickeyAuthenticator((user, key, session) -> {
        if (key instanceof OpenSshCertificate) {
          return false; // users are plain keys; certificates are for the cluster's own CA
        }
        session.setAttribute(UserKey.ATTRIBUTE, UserKey.of(key));
        return true;
      });
      server.setPasswordAuthenticator(null);
      server.setKeyboardInteractiveAuthenticator(null);
      server.setGSSAuthenticator(null);
      server.setHostBasedAuthenticator(null);
      server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
      server.setAgentFactory(null);
      server.setSubsystemFactories(List.of());
      server.setChannelFactories(List.of(VerbChannel.FACTORY));
      server.setCommandFactory((channel, command) -> new VerbCommand(accounts, registrationUrl, Optional.of(command)));
      server.setShellFactory(channel -> new VerbCommand(accounts, registrationUrl, Optional.empty()));
      CoreModuleProperties.SERVER_IDENTIFICATION.set(server, "boxd");
      CoreModuleProperties.IDLE_TIMEOUT.set(server, Duration.ZERO);
      CoreModuleProperties.SOCKET_KEEPALIVE.set(server, true);
      server.setSessionHeartbeat(HeartbeatType.IGNORE, HEARTBEAT);
      server.start();
      log.info("SSH front door on {}:{} (host key {})", host, server.getPort(), hostKey);
      return new FrontDoor(server);
    }

    private static SimpleGeneratorHostKeyProvider hostKeys(Path file) {
      var provider = new SimpleGeneratorHostKeyProvider(file);
      provider.setAlgorithm("EdDSA");
      provider.setKeySize(256);
      return provider;
    }
  }
}
