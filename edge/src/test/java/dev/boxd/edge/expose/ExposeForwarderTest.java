package dev.boxd.edge.expose;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.BoxdException;
import dev.boxd.core.net.EgressTraffic;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Exposure.Protocol;
import dev.boxd.testkit.TestNetworks;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.workerport.GuestCommand;
import dev.boxd.workerport.GuestProcess;
import dev.boxd.workerport.Reconciled;
import dev.boxd.workerport.WorkerPort;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The forwards follow the log and carry real TCP and UDP over loopback: the "VM" is an echo
 * server on this host that the fake worker port connects to, as the real one does inside the VM
 * network namespace.
 */
class ExposeForwarderTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private final InMemoryStateStore store = new InMemoryStateStore();
  private final EchoWorker worker = new EchoWorker();
  private final InetAddress edge;
  private ExposeForwarder forwarder;

  ExposeForwarderTest() throws IOException {
    edge = InetAddress.getByName(TestNetworks.uniqueLoopback());
    store.apply(new Command.CreateUser("u1", "alice", AT, 10));
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
    store.apply(new Command.CreateVm("vm1", "u1", "app", 1, 512, 10, Ipv4.parse("10.77.0.5"), Ipv4.parse("127.77.0.2"), "w1", AT));
  }

  @AfterEach
  void close() throws IOException {
    if (forwarder != null) {
      forwarder.close();
    }
    worker.close();
    store.close();
  }

  @Test
  void tcpAndUdpForwardsCarryTrafficToTheVmPortAndStopWhenRemoved() throws Exception {
    int tcpPort = 40000 + (int) (ProcessHandle.current().pid() % 10000);
    forwarder = ExposeForwarder.start(store, id -> worker, edge);
    store.apply(new Command.Expose("vm1", Protocol.TCP, 5000, tcpPort));
    store.apply(new Command.Expose("vm1", Protocol.UDP, 5001, tcpPort));

    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.listening().size() == 2);
    assertThat(tcp(tcpPort, "hello")).isEqualTo("echo hello");
    assertThat(tcp(tcpPort, "again")).isEqualTo("echo again");
    assertThat(udp(tcpPort, "ping")).isEqualTo("echo ping");
    assertThat(worker.calls).contains("connect vm1:5000", "datagram vm1:5001").doesNotContain("wake vm1");

    store.apply(new Command.SetDesiredPower("vm1", DesiredPower.STANDBY));
    assertThat(tcp(tcpPort, "asleep")).isEqualTo("echo asleep");
    assertThat(worker.calls).as("traffic for a sleeping VM wakes it first").contains("wake vm1");

    store.apply(new Command.Unexpose("vm1", Protocol.TCP, 5000));
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress(edge, tcpPort), 1000);
        throw new AssertionError("still listening");
      } catch (java.net.ConnectException expected) {
        // nothing listens any more
      }
    });
    store.apply(new Command.DestroyVm("vm1"));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.listening().isEmpty());
  }

  private String tcp(int port, String text) throws IOException {
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress(edge, port), 2000);
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
      socket.shutdownOutput();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private String udp(int port, String text) throws IOException {
    try (var socket = new DatagramSocket()) {
      socket.setSoTimeout(5000);
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      socket.send(new DatagramPacket(bytes, bytes.length, new InetSocketAddress(edge, port)));
      var reply = new DatagramPacket(new byte[100], 100);
      socket.receive(reply);
      return new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8);
    }
  }

  /** A worker port whose "VM" answers on loopback: a TCP and a UDP echo server that prefix "echo ". */
  static final class EchoWorker implements WorkerPort, AutoCloseable {
    final List<String> calls = new CopyOnWriteArrayList<>();
    private final ServerSocketChannel tcpEcho;
    private final DatagramChannel udpEcho;

    EchoWorker() throws IOException {
      tcpEcho = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      udpEcho = DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Thread.ofVirtual().start(() -> {
        while (tcpEcho.isOpen()) {
          try (SocketChannel client = tcpEcho.accept()) {
            byte[] in = client.socket().getInputStream().readAllBytes();
            client.write(ByteBuffer.wrap(("echo " + new String(in, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8)));
          } catch (IOException e) {
            return;
          }
        }
      });
      Thread.ofVirtual().start(() -> {
        ByteBuffer buffer = ByteBuffer.allocate(1000);
        while (udpEcho.isOpen()) {
          try {
            buffer.clear();
            var from = udpEcho.receive(buffer);
            buffer.flip();
            udpEcho.send(ByteBuffer.wrap(("echo " + StandardCharsets.UTF_8.decode(buffer)).getBytes(StandardCharsets.UTF_8)), from);
          } catch (IOException e) {
            return;
          }
        }
      });
    }

    @Override
    public SocketChannel connect(String vmId, int port, Duration timeout) throws IOException {
      calls.add("connect " + vmId + ":" + port);
      return SocketChannel.open(tcpEcho.getLocalAddress());
    }

    @Override
    public DatagramChannel datagram(String vmId, int port) throws IOException {
      calls.add("datagram " + vmId + ":" + port);
      return DatagramChannel.open().connect(udpEcho.getLocalAddress());
    }

    @Override
    public void wake(String vmId) {
      calls.add("wake " + vmId);
    }

    @Override
    public void close() throws IOException {
      tcpEcho.close();
      udpEcho.close();
    }

    @Override
    public GuestProcess exec(String vmId, GuestCommand command, OutputStream stdout, OutputStream stderr) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public long upload(String vmId, String path, int mode, InputStream data) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public long download(String vmId, String path, OutputStream sink) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public String sshHostKey(String vmId) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public Reconciled reconcileNow(String vmId, long index) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public void reconcileSnapshotsNow(long index) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public OptionalLong pauseAheadOfLog(String vmId) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public OptionalLong resumeAheadOfLog(String vmId) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public void recorded(String vmId) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public EgressTraffic egressTraffic(String vmId) {
      throw BoxdException.precondition("not in this test");
    }

    @Override
    public boolean hasImage(String name) {
      throw BoxdException.precondition("not in this test");
    }
  }
}
