package dev.boxd.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Sockets opened inside a namespace reach what only that namespace reaches. Needs root. */
class NetworkNamespaceTest {
  private final NetworkNamespace namespace = new NetworkNamespace("bxnt" + ProcessHandle.current().pid() % 100000);

  @BeforeEach
  void create() {
    namespace.create();
  }

  @AfterEach
  void delete() {
    namespace.delete();
  }

  @Test
  void connectReachesAListenerOfTheNamespaceOnly() throws Exception {
    // The namespace's own loopback: the same address in the host's namespace is another interface.
    try (ServerSocketChannel listener = LinuxNamespaces.inNetworkNamespace(namespace.path(), () -> {
      var l = ServerSocketChannel.open();
      l.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return l;
    })) {
      var address = (InetSocketAddress) listener.getLocalAddress();
      try (SocketChannel client = namespace.connect(address, Duration.ofSeconds(5)); SocketChannel server = listener.accept()) {
        client.write(ByteBuffer.wrap(new byte[] {42}));
        ByteBuffer got = ByteBuffer.allocate(1);
        server.read(got);
        assertThat(got.get(0)).isEqualTo((byte) 42);
      }
    }
  }

  @Test
  void anUnboundListenerBoundOnAnyThreadListensInTheNamespaceAndNotOnTheHost() throws Exception {
    try (ServerSocketChannel listener = namespace.unboundListener()) {
      assertThat(listener.getLocalAddress()).as("not bound yet").isNull();
      listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)); // on this thread, in the host's namespace
      var address = (InetSocketAddress) listener.getLocalAddress();
      try (SocketChannel client = namespace.connect(address, Duration.ofSeconds(5)); SocketChannel server = listener.accept()) {
        assertThat(server.getRemoteAddress()).isEqualTo(client.getLocalAddress());
      }
      assertThatThrownBy(() -> SocketChannel.open(address)).as("the host's loopback has no such listener")
          .isInstanceOf(ConnectException.class);
    }
  }

  @Test
  void aRefusedConnectionIsAnIoException() {
    assertThatThrownBy(() -> namespace.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), Duration.ofSeconds(5)))
        .isInstanceOf(ConnectException.class);
  }
}
