package dev.boxd.server;

import dev.boxd.api.grpc.AddressApiServer;
import dev.boxd.api.grpc.AddressCallers;
import dev.boxd.core.BoxdException;
import dev.boxd.core.net.Ipv4;
import dev.boxd.net.HostNetwork;
import dev.boxd.net.NetworkNamespace;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/**
 * The gRPC API inside every VM (issue 14): {@code boxd.api.v1.BoxdApi} on port 9003 of the bridge's
 * gateway address, inside the VM network namespace, so only VMs reach it. The caller is the VM the
 * connection comes from, acting as its owner ({@link StateGuestCallers}, as for the in-VM CLI's
 * gateway on 9002), so SDKs in a VM need no key or token. Plaintext HTTP/2: the VM network is the
 * host's private bridge, and its anti-spoof rules drop what a VM sends from an address not its
 * own, which makes the source address the VM's identity (no TLS would add to that, and a guest
 * has no CA to check a certificate against).
 */
final class InVmApi implements AutoCloseable {
  /** The port on the gateway address. */
  static final int PORT = HostNetwork.GUEST_API_PORT;

  private final AddressApiServer server;

  private InVmApi(AddressApiServer server) {
    this.server = server;
  }

  /**
   * Serves on {@code gateway}:{@link #PORT} in {@code namespace}. The listening socket is made
   * inside the namespace (a socket keeps the namespace it was made in) and bound by Netty there.
   */
  static InVmApi start(NetworkNamespace namespace, Ipv4 gateway, AddressCallers callers) throws IOException {
    var address = new InetSocketAddress(gateway.toString(), PORT);
    ServerSocketChannel socket = namespace.unboundListener();
    try {
      return new InVmApi(AddressApiServer.start(socket, address, callers, AddressApiServer.Limits.DEFAULT));
    } catch (IOException e) {
      throw BoxdException.precondition("cannot listen on " + address + " in the VM network namespace " + namespace.name()
          + " for the in-VM API (" + e.getMessage() + "): free that port there (ip netns exec " + namespace.name()
          + " ss -ltnp) or start with --no-api");
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
