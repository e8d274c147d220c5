package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.control.ControlConfig;
import dev.boxd.workerport.Workers;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.codec.SnapshotCodec;
import dev.boxd.raft.RaftConfig;
import dev.boxd.raft.RaftNode;
import dev.boxd.ssh.FrontDoor;
import dev.boxd.core.MachineShape;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 1,000 strangers, each with a key of its own, connect to the SSH front door of a real
 * single-node Raft state: what they leave in the replicated state stays within the caps, each is
 * told why, and the operator can still approve one. The clients are MINA's SSH client.
 */
class RegistrationFloodTest {
  private static final Pattern CODE = Pattern.compile("register\\?code=([A-Z0-9]+) ");
  private static final int STRANGERS = 1000;

  @TempDir
  Path dir;
  private RaftNode raft;
  private FrontDoor door;
  private AdminServer admin;
  private SshClient client;

  @BeforeEach
  void start() throws IOException {
    Clock clock = Clock.systemUTC();
    raft = RaftNode.start(RaftConfig.singleNode(dir.resolve("raft"), "127.0.0.1:" + freePort()));
    var config = ControlConfig.singleNode(Ipv4Subnet.parse("10.77.0.0/16"), new MachineShape(1, 512));
    door = FrontDoor.builder(new StateAccounts(raft, noWorkers(), config, clock)).listen("127.0.0.1", 0)
        .hostKey(dir.resolve("ssh_host_ed25519_key")).registrationUrl("https://boxd.test/register?code=").start();
    admin = AdminServer.start(dir, raft, clock, AdminServer.UnclaimedVms.NONE);
    client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    client.start();
  }

  @AfterEach
  void stop() throws IOException {
    client.stop();
    admin.close();
    door.close();
    raft.close();
  }

  @Test
  void aThousandUnknownKeysLeaveABoundedStateAndApprovalStillWorks() throws Exception {
    int snapshotBefore = SnapshotCodec.encode(raft.read()).length;
    long indexBefore = raft.read().appliedIndex();
    List<KeyPair> keys = new ArrayList<>();
    var generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    for (int i = 0; i < STRANGERS; i++) {
      keys.add(generator.generateKeyPair());
    }

    long started = System.nanoTime();
    List<Run> runs = new ArrayList<>();
    var parallel = new Semaphore(32);
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Run>> futures = new ArrayList<>();
      for (KeyPair key : keys) {
        futures.add(executor.submit(() -> {
          parallel.acquire();
          try {
            return run(key, "list");
          } finally {
            parallel.release();
          }
        }));
      }
      for (Future<Run> f : futures) {
        runs.add(f.get());
      }
    }
    long seconds = (System.nanoTime() - started) / 1_000_000_000;

    List<String> codes = new ArrayList<>();
    int refused = 0;
    for (Run r : runs) {
      assertThat(r.exit()).as("a stranger runs nothing: %s", r.err()).isNotZero();
      Matcher m = CODE.matcher(r.err());
      if (m.find()) {
        codes.add(m.group(1));
      } else {
        assertThat(r.err()).as("every stranger is told why").isEqualTo("error: too many pending registrations from 127.0.0.1 ("
            + Registration.MAX_PENDING_PER_SOURCE + ", the most one address may have); try again once one is approved or expired,"
            + " or ask the operator to add your key\n");
        refused++;
      }
    }
    int pending = raft.read().registrations().size();
    int snapshotAfter = SnapshotCodec.encode(raft.read()).length;
    long entries = raft.read().appliedIndex() - indexBefore;
    System.out.printf("%d unknown keys in %d s: %d got a code, %d refused; pending registrations %d, snapshot %d -> %d bytes,"
        + " %d log entries%n", STRANGERS, seconds, codes.size(), refused, pending, snapshotBefore, snapshotAfter, entries);
    assertThat(codes).hasSize(Registration.MAX_PENDING_PER_SOURCE).doesNotHaveDuplicates();
    assertThat(pending).isEqualTo(Registration.MAX_PENDING_PER_SOURCE);
    assertThat(entries).as("refused strangers write nothing to the log").isEqualTo(Registration.MAX_PENDING_PER_SOURCE);

    // A key with a pending registration gets the same code again, and writes nothing.
    int index = indexOfCode(runs, codes.getFirst());
    Run again = run(keys.get(index), "list");
    assertThat(again.err()).contains("register?code=" + codes.getFirst() + " ");
    assertThat(raft.read().appliedIndex() - indexBefore).isEqualTo(entries);

    // The operator approves it: the key is an account's now, and its verbs run.
    assertThat(adminSays("approve " + codes.getFirst() + " alice")).startsWith("ok key ");
    Run approved = run(keys.get(index), "list");
    assertThat(approved.exit()).as(approved.err()).isZero();
    assertThat(raft.read().registrations()).hasSize(Registration.MAX_PENDING_PER_SOURCE - 1);
  }

  private static int indexOfCode(List<Run> runs, String code) {
    for (int i = 0; i < runs.size(); i++) {
      if (runs.get(i).err().contains("code=" + code + " ")) {
        return i;
      }
    }
    throw new AssertionError("no run got code " + code);
  }

  private record Run(int exit, String err) {}

  private Run run(KeyPair key, String command) throws IOException {
    try (ClientSession session = client.connect("someone", "127.0.0.1", door.port()).verify(Duration.ofSeconds(30)).getSession()) {
      session.addPublicKeyIdentity(key);
      session.auth().verify(Duration.ofSeconds(30));
      try (ChannelExec channel = session.createExecChannel(command)) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        channel.setOut(out);
        channel.setErr(err);
        channel.open().verify(Duration.ofSeconds(30));
        channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(30));
        Integer exit = channel.getExitStatus();
        return new Run(exit == null ? -1 : exit, err.toString(StandardCharsets.UTF_8));
      }
    }
  }

  private String adminSays(String line) throws IOException {
    try (SocketChannel socket = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      socket.connect(UnixDomainSocketAddress.of(AdminServer.socketOf(dir)));
      Channels.newOutputStream(socket).write((line + "\n").getBytes(StandardCharsets.UTF_8));
      return new BufferedReader(new InputStreamReader(Channels.newInputStream(socket), StandardCharsets.UTF_8)).readLine();
    }
  }

  // Strangers and the one approved user only list their (no) VMs: nothing here places a VM.
  private static Workers noWorkers() {
    return workerId -> {
      throw new UnsupportedOperationException("this test places no VMs");
    };
  }

  private static int freePort() throws IOException {
    return dev.boxd.testkit.FreePorts.tcp();
  }
}
