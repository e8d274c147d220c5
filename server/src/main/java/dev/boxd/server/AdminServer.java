package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.User;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Operator commands for a running server, on a Unix socket in the data directory readable only
 * by its owner: {@code approve CODE [USER]}, {@code add-key USER KEY-LINE},
 * {@code set-quota USER NAME=VALUE...}, {@code unclaimed}, {@code remove-unclaimed VM-ID},
 * {@code set-acme-challenge NAME SECONDS VALUE...} and {@code clear-acme-challenge NAME}. One
 * request line, one answer line: {@code ok …} or {@code error CODE message}.
 */
final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ServerSocketChannel server;
  private final Path socket;
  private final StateStore store;
  private final Clock clock;
  private final UnclaimedVms unclaimed;

  /** VMs this host runs that the log does not place here: the worker keeps them until the operator decides. */
  interface UnclaimedVms {
    /** One line per VM: id, state, QEMU pid. */
    java.util.List<String> describe();

    /** Ends the VM and deletes its files; only a VM that is unclaimed. */
    void remove(String vmId);

    /** For a node without a worker role: it runs no VMs. */
    UnclaimedVms NONE = new UnclaimedVms() {
      @Override
      public java.util.List<String> describe() {
        return java.util.List.of();
      }

      @Override
      public void remove(String vmId) {
        throw BoxdException.notFound("no unclaimed VM " + dev.boxd.core.Names.quote(vmId) + ": this node runs no VMs");
      }
    };
  }

  private AdminServer(ServerSocketChannel server, Path socket, StateStore store, Clock clock, UnclaimedVms unclaimed) {
    this.server = server;
    this.socket = socket;
    this.store = store;
    this.clock = clock;
    this.unclaimed = unclaimed;
  }

  static Path socketOf(Path dataDir) {
    return dataDir.resolve("admin.sock");
  }

  static AdminServer start(Path dataDir, StateStore store, Clock clock, UnclaimedVms unclaimed) throws IOException {
    Path socket = socketOf(dataDir);
    Files.deleteIfExists(socket);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    var admin = new AdminServer(server, socket, store, clock, unclaimed);
    Thread.ofVirtual().name("admin").start(admin::serve);
    return admin;
  }

  private void serve() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        Thread.ofVirtual().start(() -> handle(client));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void handle(SocketChannel client) {
    try (client) {
      var in = new BufferedReader(new InputStreamReader(Channels.newInputStream(client), StandardCharsets.UTF_8));
      OutputStream out = Channels.newOutputStream(client);
      String line = in.readLine();
      String answer;
      try {
        answer = "ok " + execute(line == null ? "" : line);
      } catch (BoxdException e) {
        answer = "error " + e.code() + " " + e.getMessage();
      }
      out.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      log.debug("admin client went away: {}", e.getMessage());
    }
  }

  private String execute(String line) {
    String[] words = line.trim().split(" ", 3);
    return switch (words[0]) {
      case "approve" -> approve(words.length > 1 ? words[1] : "", words.length > 2 ? Optional.of(words[2].trim()) : Optional.empty());
      case "add-key" -> {
        if (words.length < 3) {
          throw BoxdException.invalid("usage: add-key USER KEY");
        }
        yield addKey(words[1], words[2]);
      }
      case "set-quota" -> setQuota(words.length > 1 ? words[1] : "", words.length > 2 ? words[2].trim() : "");
      case "unclaimed" -> {
        var vms = unclaimed.describe();
        yield vms.isEmpty() ? "no unclaimed VMs" : vms.size() + " unclaimed: " + String.join("; ", vms);
      }
      case "remove-unclaimed" -> {
        if (words.length < 2) {
          throw BoxdException.invalid("usage: remove-unclaimed VM-ID (ids from: boxd admin unclaimed)");
        }
        unclaimed.remove(words[1]);
        yield "VM " + words[1] + " removed";
      }
      case "set-acme-challenge" -> setAcmeChallenge(words.length > 1 ? words[1] : "", words.length > 2 ? words[2].trim() : "");
      case "clear-acme-challenge" -> {
        store.propose(new Command.ClearAcmeChallenge(words.length > 1 ? words[1] : "")).orThrow();
        yield "no TXT record at " + (words.length > 1 ? words[1] : "");
      }
      default -> throw BoxdException.invalid("unknown admin command " + dev.boxd.core.Names.quote(words[0])
          + ": expected approve, add-key, set-quota, unclaimed, remove-unclaimed, set-acme-challenge or clear-acme-challenge");
    };
  }

  private String approve(String code, Optional<String> userName) {
    ClusterState state = store.read();
    var registration = state.registration(code.toUpperCase())
        .orElseThrow(() -> BoxdException.notFound("no pending registration with code " + dev.boxd.core.Names.quote(code)
            + ": it was already used (its key is linked), it expired, or it never existed; the user connects with ssh again for a"
            + " new code"));
    String name = userName.orElse("user-" + registration.code().toLowerCase());
    dev.boxd.core.Names.requireValid("user name", name);
    String userId = userByName(state, name).map(User::id).orElseGet(AdminServer::newUserId);
    store.propose(new Command.ApproveRegistration(registration.code(), userId, name, clock.instant())).orThrow();
    return "key " + registration.fingerprint() + " linked to user " + name;
  }

  private String addKey(String userName, String keyLine) {
    dev.boxd.core.Names.requireValid("user name", userName);
    String key = KeyFingerprint.canonical(keyLine);
    String fingerprint = KeyFingerprint.of(key);
    ClusterState state = store.read();
    if (state.key(fingerprint).isPresent()) {
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "key " + fingerprint + " is already linked to an account");
    }
    String userId = userByName(state, userName).map(User::id).orElseGet(() -> {
      String id = newUserId();
      store.propose(new Command.CreateUser(id, userName, clock.instant(), ClusterState.DEFAULT_MAX_VMS)).orThrow();
      return id;
    });
    store.propose(new Command.AddKey(userId, fingerprint, key, clock.instant())).orThrow();
    return "key " + fingerprint + " linked to user " + userName;
  }

  /** {@code set-quota USER NAME=VALUE...}: the limits named change, the others stay (names in {@link QuotaChange}). */
  private String setQuota(String userName, String changes) {
    User user = userByName(store.read(), userName)
        .orElseThrow(() -> BoxdException.notFound("no user named " + dev.boxd.core.Names.quote(userName)));
    var quota = QuotaChange.apply(user.quota(), changes);
    store.propose(new Command.SetQuota(user.id(), quota)).orThrow();
    return "user " + userName + " may hold " + quota;
  }

  /** {@code set-acme-challenge NAME SECONDS VALUE...}: TXT values the dns role serves at NAME for that long. */
  private String setAcmeChallenge(String name, String rest) {
    String[] words = rest.isEmpty() ? new String[0] : rest.split("\\s+");
    long seconds;
    try {
      seconds = words.length > 0 ? Long.parseLong(words[0]) : -1;
    } catch (NumberFormatException e) {
      seconds = -1;
    }
    if (seconds < 1 || words.length < 2) {
      throw BoxdException.invalid("usage: set-acme-challenge NAME SECONDS VALUE... (SECONDS at least 1)");
    }
    var values = java.util.List.of(words).subList(1, words.length);
    var at = clock.instant();
    store.propose(new Command.SetAcmeChallenge(name, values, at, at.plusSeconds(seconds))).orThrow();
    return values.size() + " TXT value(s) at " + name + " until " + at.plusSeconds(seconds);
  }

  private static Optional<User> userByName(ClusterState state, String name) {
    return state.users().stream().filter(u -> u.name().equals(name)).findFirst();
  }

  private static String newUserId() {
    byte[] bytes = new byte[8];
    RANDOM.nextBytes(bytes);
    return "u" + HexFormat.of().formatHex(bytes);
  }

  @Override
  public void close() {
    try {
      server.close();
      Files.deleteIfExists(socket);
    } catch (IOException ignored) {
      // shutting down
    }
  }
}
