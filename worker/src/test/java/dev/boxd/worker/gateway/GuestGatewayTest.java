package dev.boxd.worker.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.testing.FakeOperations;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway's transport over loopback, with operations that only record what reached them: the
 * hello, frames both ways, stdin on demand, the caller's identity and its working directory, and a
 * client that leaves mid-verb. The real thing (guest CLI, VMs, the VM network) is tested end to
 * end in the server module.
 */
class GuestGatewayTest {
  /** Completes when a verb saw its client leave: its stdin failed or it was interrupted. */
  private final CompletableFuture<Boolean> clientLeft = new CompletableFuture<>();
  /** Verbs of {@code hold} now running: each read one byte of stdin and reads no more. */
  private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();
  /** Alice's operations as seen from inside her VM {@code self-id}: every name is a VM; records what reached them. */
  private final FakeOperations self = FakeOperations.builder()
      .anyVm(vm -> new Operations.VmView(vm, vm, "running", "10.0.0.2", null, "debian-12", null, 0, 1, 1024, 100, null, 30))
      .currentVm("self-id")
      .detailedCalls()
      .whoami(new Operations.Whoami("alice", "alice", List.of()))
      .exec(this::selfExec)
      .build();
  private final List<String> calls = self.calls;
  private volatile Optional<Operations> caller = Optional.of(self);
  private volatile dev.boxd.core.BoxdException refusal;
  private GuestGateway gateway;

  @BeforeEach
  void start() throws IOException {
    var listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    gateway = GuestGateway.serve(listener, source -> {
      if (refusal != null) {
        throw refusal;
      }
      return caller;
    });
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  /** What came back: stdout, stderr, the frame types in order, and the exit code (null if none). */
  record Reply(String out, String err, String types, Integer exit) {}

  private Socket connect(String cwd, String term, String... argv) throws IOException {
    var socket = new Socket(InetAddress.getLoopbackAddress(), gateway.address().getPort());
    var hello = new ByteArrayOutputStream();
    for (String field : List.of("boxd-gateway/1", cwd, term, term.isEmpty() ? "0" : "80", term.isEmpty() ? "0" : "24")) {
      hello.write((field + "\0").getBytes(StandardCharsets.UTF_8));
    }
    for (String arg : argv) {
      hello.write((arg + "\0").getBytes(StandardCharsets.UTF_8));
    }
    frame(socket.getOutputStream(), 'H', hello.toByteArray());
    return socket;
  }

  private static void frame(OutputStream out, char type, byte[] payload) throws IOException {
    out.write(ByteBuffer.allocate(5).put((byte) type).putInt(payload.length).array());
    out.write(payload);
    out.flush();
  }

  /** Reads frames to the end; answers N by sending {@code stdin} and its end. */
  private static Reply collect(Socket socket, byte[] stdin) throws IOException {
    var in = new DataInputStream(socket.getInputStream());
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var types = new StringBuilder();
    Integer exit = null;
    int type;
    while ((type = in.read()) != -1) {
      byte[] payload = in.readNBytes(in.readInt());
      types.append((char) type);
      switch (type) {
        case 'O' -> out.write(payload);
        case 'E' -> err.write(payload);
        case 'X' -> exit = ByteBuffer.wrap(payload).getInt();
        case 'N' -> {
          frame(socket.getOutputStream(), 'I', stdin);
          frame(socket.getOutputStream(), 'I', new byte[0]);
        }
        default -> { }
      }
    }
    return new Reply(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), types.toString(), exit);
  }

  private Reply run(String... argv) throws IOException {
    try (Socket socket = connect("/home/boxd/work", "", argv)) {
      return collect(socket, new byte[0]);
    }
  }

  @Test
  void aVerbAnswersOnStdoutAndEndsWithItsExitCode() throws IOException {
    Reply reply = run("whoami", "--json");
    assertThat(reply.out()).contains("\"user_id\":\"alice\"");
    assertThat(reply.exit()).isZero();
    assertThat(reply.types()).doesNotContain("N").endsWith("X");
  }

  @Test
  void aCallerRefusedWithAReasonGetsTheReasonAndItsCodeAndNoVerbRuns() throws IOException {
    refusal = new dev.boxd.core.BoxdException(dev.boxd.core.ErrorCode.PERMISSION_DENIED, "this VM is isolated: no CLI");
    Reply reply = run("list");
    assertThat(reply.err()).isEqualTo("error: this VM is isolated: no CLI\n");
    assertThat(reply.exit()).isEqualTo(dev.boxd.core.ErrorCode.PERMISSION_DENIED.exitCode());
    assertThat(calls).isEmpty();
  }

  @Test
  void infoWithoutANameIsTheCallersVm() throws IOException {
    Reply reply = run("info", "--json");
    assertThat(reply.exit()).isZero();
    assertThat(calls).contains("info self-id");
  }

  @Test
  void stdinIsAskedForOnlyWhenTheVerbReadsIt() throws IOException {
    try (Socket socket = connect("/", "", "exec", "app", "--", "cat")) {
      Reply reply = collect(socket, "piped through\n".getBytes(StandardCharsets.UTF_8));
      assertThat(reply.types()).startsWith("N");
      assertThat(reply.out()).isEqualTo("piped through\n");
      assertThat(reply.exit()).isZero();
    }
  }

  @Test
  void localPathsOfCpAreInTheCallersVmUnderItsWorkingDirectory() throws IOException {
    Reply reply = run("cp", "./results", "app:/uploads/results");
    assertThat(reply.exit()).as(reply.err()).isZero();
    assertThat(calls).contains("copy self-id:/home/boxd/work/./results app:/uploads/results");
    run("cp", "app:out.txt", "/tmp/out.txt");
    assertThat(calls).contains("copy app:out.txt self-id:/tmp/out.txt");
  }

  /** A gateway of its own with other limits, on another port; closed by the test. */
  private GuestGateway gatewayWith(GuestGateway.Limits limits) throws IOException {
    var listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return GuestGateway.serve(listener, source -> caller, limits);
  }

  @Test
  void aClientThatSendsNoHelloIsToldSoAndDisconnected() throws IOException {
    try (var strict = gatewayWith(new GuestGateway.Limits(java.time.Duration.ofMillis(300), 128, 128));
        var silent = new Socket(InetAddress.getLoopbackAddress(), strict.address().getPort())) {
      Reply reply = collect(silent, new byte[0]); // returns at the end of the stream
      assertThat(reply.err()).contains("no hello within");
      assertThat(reply.exit()).isEqualTo(dev.boxd.core.ErrorCode.DEADLINE_EXCEEDED.exitCode());
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> strict.openConnections() == 0);
    }
  }

  @Test
  void oneAddressMayHoldOnlySoManyConnections() throws IOException {
    try (var strict = gatewayWith(new GuestGateway.Limits(java.time.Duration.ofSeconds(30), 2, 128));
        var first = new Socket(InetAddress.getLoopbackAddress(), strict.address().getPort());
        var second = new Socket(InetAddress.getLoopbackAddress(), strict.address().getPort())) {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> strict.openConnections() == 2);
      try (var third = new Socket(InetAddress.getLoopbackAddress(), strict.address().getPort())) {
        Reply refused = collect(third, new byte[0]);
        assertThat(refused.err()).contains("has 2 connections open, the most one VM may have");
        assertThat(refused.exit()).isEqualTo(dev.boxd.core.ErrorCode.RESOURCE_EXHAUSTED.exitCode());
      }
      first.close(); // a slot comes free: the next connection is served
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> strict.openConnections() == 1);
      var hello = new ByteArrayOutputStream();
      for (String field : List.of("boxd-gateway/1", "/", "", "0", "0", "whoami")) {
        hello.write((field + "\0").getBytes(StandardCharsets.UTF_8));
      }
      try (var fourth = new Socket(InetAddress.getLoopbackAddress(), strict.address().getPort())) {
        frame(fourth.getOutputStream(), 'H', hello.toByteArray());
        Reply served = collect(fourth, new byte[0]);
        assertThat(served.exit()).isZero();
        assertThat(served.out()).contains("alice");
      }
    }
  }

  @Test
  void anAddressThatIsNoVmIsRefused() throws IOException {
    caller = Optional.empty();
    Reply reply = run("list");
    assertThat(reply.err()).contains("is not a VM of this cluster");
    assertThat(reply.exit()).isNotZero();
    assertThat(calls).isEmpty();
  }

  @Test
  void aHelloInAnotherProtocolIsRefusedByName() throws IOException {
    try (var socket = new Socket(InetAddress.getLoopbackAddress(), gateway.address().getPort())) {
      frame(socket.getOutputStream(), 'H', "boxd-gateway/9\0/\0\0000\0000\0list\0".getBytes(StandardCharsets.UTF_8));
      Reply reply = collect(socket, new byte[0]);
      assertThat(reply.err()).contains("unsupported protocol boxd-gateway/9");
      assertThat(reply.exit()).isNotZero();
    }
  }

  @Test
  void aVerbThatStopsReadingEndsTheSessionWhileTheClientStillSends() throws Exception {
    try (Socket socket = connect("/", "", "exec", "app", "--", "first-byte")) {
      var in = new DataInputStream(socket.getInputStream());
      assertThat((char) in.read()).isEqualTo('N');
      in.readInt();
      Thread flood = Thread.ofVirtual().start(() -> {
        byte[] chunk = new byte[64 * 1024];
        try {
          for (int i = 0; i < 1024; i++) { // 64 MiB, far more than the gateway queues
            frame(socket.getOutputStream(), 'I', chunk);
          }
        } catch (IOException e) {
          // the gateway closed: expected
        }
      });
      Integer exit = null;
      int type;
      while ((type = in.read()) != -1) {
        byte[] payload = in.readNBytes(in.readInt());
        if (type == 'X') {
          exit = ByteBuffer.wrap(payload).getInt();
          break;
        }
      }
      assertThat(exit).isZero();
      socket.close();
      flood.join(10_000);
      assertThat(flood.isAlive()).isFalse();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (gateway.openConnections() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(gateway.openConnections()).as("the session's threads ended").isZero();
  }

  @Test
  void oneOwnerMayHoldOnlySoManyConnectionsOverAllItsVms() throws Exception {
    try (var strict = gatewayWith(new GuestGateway.Limits(java.time.Duration.ofSeconds(30), 128, 2));
        var first = connectTo(strict, "exec", "app", "--", "hold");
        var second = connectTo(strict, "exec", "app", "--", "hold")) {
      awaitFrame(first, 'N');
      awaitFrame(second, 'N');
      try (var third = connectTo(strict, "whoami")) {
        Reply refused = collect(third, new byte[0]);
        assertThat(refused.err()).contains("the VMs of user alice have 2 connections open, the most one user may have");
        assertThat(refused.exit()).isEqualTo(dev.boxd.core.ErrorCode.RESOURCE_EXHAUSTED.exitCode());
      }
      first.close();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> strict.openConnections() == 1);
      try (var fourth = connectTo(strict, "whoami")) {
        assertThat(collect(fourth, new byte[0]).exit()).isZero();
      }
    }
  }

  @Test
  void anInputFrameOverItsLimitEndsOnlyThatConnection() throws Exception {
    try (Socket socket = connect("/", "", "exec", "app", "--", "hold")) {
      awaitFrame(socket, 'N');
      frame(socket.getOutputStream(), 'I', new byte[64 * 1024 + 1]);
      assertThat(clientLeft.get(10, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(run("whoami").exit()).isZero();
  }

  /**
   * A VM floods the gateway: many connections push stdin at a command that never reads it. The
   * gateway holds a bounded number of bytes per connection (the rest waits in TCP), and frees them
   * and ends every verb when the clients leave, though the verbs never read another byte.
   */
  @Test
  void anInputFloodStaysBoundedAndIsFreedWhenTheClientsLeave() throws Exception {
    int connections = 64;
    long perConnection = 64L << 20; // each client tries to push 64 MiB
    long heapBefore = usedHeap();
    var sockets = new java.util.ArrayList<Socket>();
    var floods = new java.util.ArrayList<Thread>();
    try {
      for (int i = 0; i < connections; i++) {
        Socket socket = connect("/", "", "exec", "app", "--", "hold");
        sockets.add(socket);
        awaitFrame(socket, 'N');
        floods.add(Thread.ofVirtual().start(() -> {
          byte[] chunk = new byte[64 * 1024];
          try {
            for (long sent = 0; sent < perConnection; sent += chunk.length) {
              frame(socket.getOutputStream(), 'I', chunk);
            }
          } catch (IOException e) {
            // the test closed the socket
          }
        }));
      }
      // Every verb got its first byte; the rest piles up until the gateway stops taking it.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> held.get() == connections);
      long cap = (long) connections * (dev.boxd.gateway.GatewaySession.INPUT_CAPACITY + 64 * 1024);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
          .until(() -> gateway.bufferedInputBytes() >= connections * (dev.boxd.gateway.GatewaySession.INPUT_CAPACITY - 64L * 1024));
      Thread.sleep(1000); // the floods go on: the buffers must not grow
      long buffered = gateway.bufferedInputBytes();
      long heapFlooded = usedHeap();
      assertThat(buffered).isLessThanOrEqualTo(cap);
      assertThat(floods).allMatch(Thread::isAlive); // the clients are held back, not done
      System.out.printf("gateway input flood: %d connections, %d MiB offered each; buffered %d KiB (cap %d KiB); "
          + "used heap %d MiB before, %d MiB flooded%n", connections, perConnection >> 20, buffered >> 10, cap >> 10,
          heapBefore >> 20, heapFlooded >> 20);
      assertThat(heapFlooded - heapBefore).isLessThan(cap + (64L << 20));
    } finally {
      for (Socket socket : sockets) {
        socket.close();
      }
    }
    // The verbs never read again: the gateway finds the clients gone by itself.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
        .until(() -> gateway.openConnections() == 0 && gateway.bufferedInputBytes() == 0 && held.get() == 0);
    for (Thread flood : floods) {
      flood.join(10_000);
    }
    long heapAfter = usedHeap();
    System.out.printf("gateway input flood: clients gone; buffered %d bytes, used heap %d MiB%n",
        gateway.bufferedInputBytes(), heapAfter >> 20);
    assertThat(heapAfter - heapBefore).isLessThan(32L << 20);
  }

  private static long usedHeap() {
    var memory = java.lang.management.ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return memory.getHeapMemoryUsage().getUsed();
  }

  private Socket connectTo(GuestGateway target, String... argv) throws IOException {
    var socket = new Socket(InetAddress.getLoopbackAddress(), target.address().getPort());
    var hello = new ByteArrayOutputStream();
    for (String field : List.of("boxd-gateway/1", "/", "", "0", "0")) {
      hello.write((field + "\0").getBytes(StandardCharsets.UTF_8));
    }
    for (String arg : argv) {
      hello.write((arg + "\0").getBytes(StandardCharsets.UTF_8));
    }
    frame(socket.getOutputStream(), 'H', hello.toByteArray());
    return socket;
  }

  /** Reads frames until one of {@code type}. */
  private static void awaitFrame(Socket socket, char type) throws IOException {
    var in = new DataInputStream(socket.getInputStream());
    int t;
    while ((t = in.read()) != -1) {
      in.readNBytes(in.readInt());
      if (t == type) {
        return;
      }
    }
    throw new java.io.EOFException("no '" + type + "' frame");
  }

  @Test
  void aClientThatLeavesInterruptsItsVerb() throws Exception {
    try (Socket socket = connect("/", "", "exec", "app", "--", "sleep")) {
      var in = new DataInputStream(socket.getInputStream());
      assertThat((char) in.read()).as("the exec asks for input").isEqualTo('N');
    }
    assertThat(clientLeft.get(10, TimeUnit.SECONDS)).isTrue();
  }

  // What exec does inside the VM: first-byte reads one byte and reports it; hold and sleep read one
  // byte and then wait until the client leaves; anything else copies stdin to stdout.
  private int selfExec(Operations.ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) throws IOException {
    if (spec.command().equals("first-byte")) {
      int first = stdin.read();
      try {
        Thread.sleep(500); // long enough for the client's flood to fill the gateway's input queue
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return first >= 0 ? 0 : 1;
    }
    if (spec.command().equals("hold") || spec.command().equals("sleep")) {
      // Reads one byte (or its end) and then no more; ends when the client leaves: stdin
      // then fails, or the verb is interrupted.
      try {
        stdin.read();
        held.incrementAndGet();
        try {
          Thread.sleep(600_000);
        } finally {
          held.decrementAndGet();
        }
      } catch (InterruptedException | IOException e) {
        clientLeft.complete(true);
        Thread.currentThread().interrupt();
        throw BoxdException.invalid("the client left");
      }
    }
    stdin.transferTo(stdout);
    return 0;
  }
}
