package dev.boxd.cli;

import dev.boxd.core.ErrorCode;
import dev.boxd.gateway.GatewayConnection;
import dev.boxd.gateway.GatewayFrames.Hello;
import dev.boxd.gateway.GatewaySession;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import jdk.net.ExtendedSocketOptions;

/**
 * The laptop CLI's resident process: one per user and package, serving the gateway protocol
 * ({@code docs/gateway-protocol.md}) on a Unix socket, so that {@code boxd VERB} is the static thin
 * client (the in-VM CLI's program) talking to a warm JVM whose gRPC channel is already up, rather
 * than a JVM started, loaded and connected for every call. The launcher starts it the first time a
 * call finds no one listening, and runs that call in a JVM of its own meanwhile.
 *
 * <p>Only the user it runs as may use it: its socket lies in a directory only they can enter, and it
 * checks every connection's peer credentials too. It leaves by itself after {@link #IDLE} without a
 * call, when its package is replaced (the build id it started from changes) or when its socket is
 * removed or taken over; the launcher then starts a new one.
 */
public final class Resident {
  /** How long the process waits for a next call before it leaves. */
  static final Duration IDLE = Duration.ofMinutes(15);

  private static final Duration CHECK_EVERY = Duration.ofSeconds(20);

  private final Path socket;
  private final Path buildIdFile;
  private final String buildId;
  private final Clients.Kept clients = new Clients.Kept();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicLong lastCall = new AtomicLong(System.nanoTime());
  private final AtomicLong bufferedInput = new AtomicLong();

  private Resident(Path socket, Path buildIdFile, String buildId) {
    this.socket = socket;
    this.buildIdFile = buildIdFile;
    this.buildId = buildId;
  }

  /** {@code Resident SOCKET BUILD_ID_FILE}; started by the launcher, detached, with no terminal. */
  public static void main(String[] args) throws IOException, InterruptedException {
    Main.quietLogging();
    if (args.length != 2) {
      System.err.println("usage: Resident SOCKET BUILD_ID_FILE");
      System.exit(2);
    }
    Path socket = Path.of(args[0]).toAbsolutePath();
    Path buildIdFile = Path.of(args[1]);
    new Resident(socket, buildIdFile, readBuildId(buildIdFile)).run();
    System.exit(0);
  }

  private void run() throws IOException, InterruptedException {
    Path dir = socket.getParent();
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    // One resident per socket: a second one started by a concurrent first call finds the lock held and leaves.
    Path lockFile = dir.resolve(socket.getFileName() + ".lock");
    try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock()) {
      if (lock == null) {
        return;
      }
      // who holds it, for whoever must end it by its id (a test, a benchmark)
      lockChannel.truncate(0).write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
      Files.deleteIfExists(socket); // a socket left by a resident that died: nobody listens on it
      try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
        listener.bind(UnixDomainSocketAddress.of(socket));
        Object inode = Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        Thread.ofVirtual().name("resident-accept").start(() -> acceptLoop(listener));
        while (!shouldLeave(inode)) {
          Thread.sleep(CHECK_EVERY);
        }
      } finally {
        removeOwnSocket();
        clients.close();
      }
    }
  }

  private boolean shouldLeave(Object inode) {
    if (running.get() == 0 && System.nanoTime() - lastCall.get() > IDLE.toNanos()) {
      return true;
    }
    try {
      if (!buildId.equals(readBuildId(buildIdFile))) {
        return true;
      }
      return !Objects.equals(inode, Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
    } catch (IOException e) {
      return true; // the package or the socket is gone
    }
  }

  private void removeOwnSocket() {
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      // the launcher replaces a dead socket
    }
  }

  private void acceptLoop(ServerSocketChannel listener) {
    while (listener.isOpen()) {
      SocketChannel connection;
      try {
        connection = listener.accept();
      } catch (IOException e) {
        return; // closed: the process is leaving
      }
      running.incrementAndGet();
      lastCall.set(System.nanoTime());
      Thread.ofVirtual().name("resident-call").start(() -> {
        try (connection) {
          serve(connection);
        } catch (IOException e) {
          // the client went away
        } catch (RuntimeException | LinkageError e) {
          // a fault here, not the verb's (those are its exit code): the caller sees it, not a dropped connection
          try {
            GatewayConnection.refuse(Channels.newOutputStream(connection), ErrorCode.INTERNAL,
                "boxd's resident process failed: " + e + " (stop it with: kill $(cat ~/.cache/boxd/*.lock); the next call starts another)");
          } catch (IOException gone) {
            // the client went away too
          }
        } finally {
          lastCall.set(System.nanoTime());
          running.decrementAndGet();
        }
      });
    }
  }

  private void serve(SocketChannel connection) throws IOException {
    var in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(connection), 16 * 1024));
    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(connection), 16 * 1024);
    var peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
    if (!peer.user().getName().equals(System.getProperty("user.name"))) {
      GatewayConnection.refuse(out, ErrorCode.PERMISSION_DENIED, "this boxd process serves user " + System.getProperty("user.name") + " only");
      return;
    }
    Hello hello;
    try {
      hello = GatewayConnection.readHello(in);
    } catch (java.net.ProtocolException e) {
      GatewayConnection.refuse(out, ErrorCode.INVALID_ARGUMENT, "boxd: " + e.getMessage());
      return;
    }
    var session = new GatewaySession(hello, GatewaySession.Client.LOCAL, out, bufferedInput);
    var client = GatewayConnection.Client.of(connection, "local");
    List<String> argv = hello.argv();
    GatewayConnection.serve(client, in, out, session, terminal -> Main.run(argv, terminal, clients), message -> {});
  }

  private static String readBuildId(Path file) throws IOException {
    try {
      return Files.readString(file).strip();
    } catch (NoSuchFileException e) {
      throw new IOException("no build id at " + file, e);
    }
  }
}
