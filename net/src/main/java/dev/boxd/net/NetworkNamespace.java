package dev.boxd.net;

import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A named Linux network namespace ({@code /run/netns/NAME}), made and removed with iproute2. */
public record NetworkNamespace(String name) {

  public Path path() {
    return Path.of("/run/netns", name);
  }

  public boolean exists() {
    return Files.exists(path());
  }

  public void create() {
    if (!exists()) {
      HostCommand.run("ip", "netns", "add", name);
    }
    HostCommand.run("ip", "-n", name, "link", "set", "lo", "up");
  }

  public void delete() {
    if (exists()) {
      HostCommand.run("ip", "netns", "delete", name);
    }
  }

  /** The prefix that runs a program inside this namespace (nsenter keeps the caller's mounts). */
  public List<String> enterPrefix() {
    return List.of("nsenter", "--net=" + path());
  }

  /** Runs a command inside the namespace and throws if it fails. */
  public HostCommand.Result run(String... argv) {
    List<String> full = new ArrayList<>(enterPrefix());
    full.add("--");
    full.addAll(List.of(argv));
    return HostCommand.run(full.toArray(String[]::new));
  }

  public HostCommand.Result tryRun(String... argv) {
    List<String> full = new ArrayList<>(enterPrefix());
    full.add("--");
    full.addAll(List.of(argv));
    return HostCommand.tryRun(full.toArray(String[]::new));
  }

  /**
   * A TCP connection to {@code target} made from inside this namespace: the socket belongs to the
   * namespace (so it reaches what only the namespace can reach, such as the VMs on its bridge),
   * and any thread may use it. The channel is blocking; the caller closes it. A refused or timed
   * out connection is an {@link IOException} ({@link java.net.ConnectException},
   * {@link java.net.SocketTimeoutException}).
   */
  public SocketChannel connect(InetSocketAddress target, Duration timeout) throws IOException {
    int millis = (int) Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
    return inside(() -> {
      SocketChannel channel = SocketChannel.open();
      try {
        channel.socket().connect(target, millis);
        return channel;
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }, "connecting to " + target);
  }

  /**
   * A UDP socket made inside this namespace and connected to {@code target}: datagrams written to
   * it go to {@code target}, and only {@code target}'s replies are read from it. Blocking; any
   * thread may use it; the caller closes it.
   */
  public DatagramChannel datagram(InetSocketAddress target) throws IOException {
    return inside(() -> {
      DatagramChannel channel = DatagramChannel.open(java.net.StandardProtocolFamily.INET);
      try {
        return channel.connect(target);
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }, "opening a UDP socket to " + target);
  }

  /**
   * A TCP listener bound to {@code address} inside this namespace (such as the gateway address of
   * its bridge), so only what can reach that address there can connect. Blocking; the caller
   * closes it.
   */
  public ServerSocketChannel listen(InetSocketAddress address) throws IOException {
    return inside(() -> {
      ServerSocketChannel channel = ServerSocketChannel.open();
      try {
        channel.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
        return channel.bind(address, 128);
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }, "listening on " + address);
  }

  /**
   * A TCP listening socket made inside this namespace and not yet bound, for a server that binds
   * it itself (Netty, given it as its channel): the socket keeps this namespace whichever thread
   * binds it, so the address it is bound to is one of this namespace's. The caller closes it.
   */
  public ServerSocketChannel unboundListener() throws IOException {
    return inside(() -> {
      ServerSocketChannel channel = ServerSocketChannel.open();
      try {
        channel.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, true);
        return channel;
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }, "opening a listening socket");
  }

  /**
   * Runs {@code action} on a thread that has entered this namespace (a socket keeps the namespace
   * it was made in); its I/O failure comes back as it was thrown.
   */
  private <T> T inside(java.util.concurrent.Callable<T> action, String doing) throws IOException {
    try {
      return LinuxNamespaces.inNetworkNamespace(path(), action);
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof InterruptedException) {
        throw new java.io.InterruptedIOException("interrupted while " + doing);
      }
      throw e;
    }
  }

  /** Applies an nftables script inside the namespace, atomically. */
  public void nft(String script) {
    List<String> full = new ArrayList<>(enterPrefix());
    full.addAll(List.of("--", "nft", "-f", "-"));
    HostCommand.runWithInput(script.getBytes(java.nio.charset.StandardCharsets.UTF_8), full.toArray(String[]::new));
  }
}
