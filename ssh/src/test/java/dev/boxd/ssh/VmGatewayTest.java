package dev.boxd.ssh;

import dev.boxd.testkit.PtyClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.ssh.SshClient.Result;
import dev.boxd.ssh.VmRoutes.VmRoute;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VM gateway with the real OpenSSH on both sides: the user's ssh, scp and sftp in front, a
 * real sshd standing in for the VM's behind (reached through the same relay a VM's socket goes
 * through). Needs root and /usr/sbin/sshd.
 */
class VmGatewayTest {
  static final InetAddress ADDRESS = address("127.77.251." + (2 + ProcessHandle.current().pid() % 200));
  static final Duration PROMPTLY = Duration.ofSeconds(15);

  @TempDir
  static Path dir;

  static Routes routes;
  static GuestSshd guest;
  static VmGateway gateway;
  static Path alice;
  static Path bob;

  static InetAddress address(String text) {
    try {
      return InetAddress.getByName(text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One VM, "app", at ADDRESS for alice's key; its sshd at a port the test may change. */
  static final class Routes implements VmRoutes {
    volatile String owner;
    volatile int guestPort;
    volatile String hostKey;

    @Override
    public Optional<VmRoute> route(InetAddress address, String fingerprint) {
      return address.equals(ADDRESS) && fingerprint.equals(owner) ? Optional.of(new VmRoute("vm-1", "app")) : Optional.empty();
    }

    @Override
    public SocketChannel connect(VmRoute route, Duration timeout) throws IOException {
      SocketChannel channel = SocketChannel.open();
      try {
        channel.socket().connect(new InetSocketAddress("127.0.0.1", guestPort), (int) timeout.toMillis());
        return channel;
      } catch (IOException e) {
        channel.close();
        throw e;
      }
    }

    @Override
    public String hostKey(VmRoute route) {
      return hostKey;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    org.junit.jupiter.api.Assertions.assertTrue(GuestSshd.available(), "needs root and /usr/sbin/sshd (scripts/install-deps.sh installs openssh-server)");
    alice = SshClient.keygen(dir, "alice");
    bob = SshClient.keygen(dir, "bob");
    PlatformKey platform = PlatformKey.loadOrCreate(dir.resolve("platform_ed25519_key"));
    Path guestDir = Files.createDirectories(dir.resolve("guest"));
    guest = new GuestSshd(guestDir, platform.publicKey()).start();
    routes = new Routes();
    routes.owner = SshClient.fingerprint(alice);
    routes.guestPort = guest.port;
    routes.hostKey = Files.readString(guest.hostKeyPub()).strip();
    gateway = VmGateway.builder(routes).port(GuestSshd.freePort()).hostKey(dir.resolve("gateway_host_key"))
        .platformKey(platform.keyPair()).guestUser(System.getProperty("user.name")).patience(Duration.ofSeconds(10)).start();
    gateway.listen(Set.of(ADDRESS));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (guest != null) {
      guest.close();
    }
  }

  @AfterEach
  void restoreRoutes() throws Exception {
    if (routes != null) {
      routes.guestPort = guest.port;
      routes.hostKey = Files.readString(guest.hostKeyPub()).strip();
      gateway.listen(Set.of(ADDRESS));
    }
  }

  static List<String> ssh(Path key, List<String> options, String... remote) {
    var argv = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(gateway.port()), "-i", key.toString(),
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"));
    argv.addAll(options);
    argv.add("boxd@" + ADDRESS.getHostAddress());
    argv.addAll(List.of(remote));
    return argv;
  }

  static Result run(Path key, String... remote) {
    return SshClient.run(ssh(key, List.of(), remote), new byte[0]);
  }

  @Test
  void execKeepsStdoutAndStderrApartAndReturnsTheExitCode() {
    Result r = run(alice, "echo out; echo err >&2; exit 7");
    assertThat(r.exit()).as(r.toString()).isEqualTo(7);
    assertThat(r.out()).isEqualTo("out\n");
    assertThat(r.err()).isEqualTo("err\n");
    assertThat(run(alice, "true").exit()).isZero();
  }

  @Test
  void stdinStreamsToTheGuestAndItsEndIsTheGuestsEof() {
    byte[] data = new byte[8 << 20];
    new Random(1).nextBytes(data);
    Result r = SshClient.run(ssh(alice, List.of(), "sha256sum"), data);
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).startsWith(java.util.HexFormat.of().formatHex(FakeOperations.sha256().digest(data)));
    Result big = run(alice, "head -c 20971520 /dev/zero");
    assertThat(big.stdout()).hasSize(20 << 20);
  }

  @Test
  void aKeyWithoutAVmAtTheAddressIsRefused() {
    Result r = run(bob, "true");
    assertThat(r.exit()).isEqualTo(255);
    assertThat(r.err()).contains("Permission denied (publickey)");
  }

  @Test
  void anAddressWithoutVmsIsNotListenedOn() {
    gateway.listen(Set.of());
    assertThat(gateway.addresses()).isEmpty();
    Result r = run(alice, "true");
    assertThat(r.exit()).isEqualTo(255);
    assertThat(r.err()).contains("Connection refused");
    gateway.listen(Set.of(ADDRESS));
    assertThat(gateway.addresses()).containsExactly(ADDRESS);
    assertThat(run(alice, "echo back").out()).isEqualTo("back\n");
  }

  @Test
  void envRequestsReachTheGuest() {
    var argv = ssh(alice, List.of("-o", "SendEnv=BOXD_GREETING"), "echo \"$BOXD_GREETING\"");
    var builder = new ProcessBuilder(argv);
    builder.environment().put("BOXD_GREETING", "hello there");
    Result r = runProcess(builder);
    assertThat(r.out()).as(r.toString()).isEqualTo("hello there\n");
  }

  @Test
  void anExitSignalComesThroughAsOne() {
    var argv = ssh(alice, List.of("-v"), "kill -TERM $$");
    Result r = SshClient.run(argv, new byte[0]);
    assertThat(r.exit()).isEqualTo(255);
    assertThat(r.err()).contains("rtype exit-signal");
  }

  @Test
  void aShellOnATerminalFollowsTheWindowAndExits() {
    try (PtyClient tty = PtyClient.start(30, 100, ssh(alice, List.of("-tt")))) {
      tty.send("stty size; echo MARK-$((40+2))\r");
      assertThat(tty.expect("MARK-42")).contains("30 100");
      tty.resize(40, 120);
      // ssh reads the keys typed after a resize before it notices the SIGWINCH, now and then: ask again.
      boolean resized = false;
      for (int i = 0; i < 20 && !resized; i++) {
        tty.send("stty size; echo MARK-$((100+" + i + "))\r");
        resized = tty.expect("MARK-" + (100 + i)).contains("40 120");
      }
      assertThat(resized).as("the new window size reached the guest's terminal").isTrue();
      tty.send("echo $TERM; tty; echo MARK-$((40+4))\r");
      assertThat(tty.expect("MARK-44")).contains("/dev/pts/");
      tty.send("exit 3\r");
      assertThat(tty.waitFor()).isEqualTo(3);
    }
  }

  @Test
  void anExecOnATerminalGetsOne() {
    try (PtyClient tty = PtyClient.start(25, 90, ssh(alice, List.of("-tt"), "stty size; test -t 0 && echo IS-A-TTY"))) {
      assertThat(tty.expect("IS-A-TTY")).contains("25 90");
      assertThat(tty.waitFor()).isZero();
    }
  }

  @Test
  void scpAndSftpCopyBothWays(@TempDir Path tmp) throws Exception {
    Path upload = tmp.resolve("upload.bin");
    byte[] data = new byte[3 << 20];
    new Random(3).nextBytes(data);
    Files.write(upload, data);
    Path remote = dir.resolve("guest-files");
    Files.createDirectories(remote);
    List<String> options = List.of("-F", "/dev/null", "-P", Integer.toString(gateway.port()), "-i", alice.toString(),
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR");
    String host = "boxd@" + ADDRESS.getHostAddress() + ":";
    for (String mode : List.of("-s", "-O")) { // the sftp subsystem, then the legacy scp protocol over exec
      var up = new ArrayList<>(List.of("scp", mode));
      up.addAll(options);
      up.addAll(List.of(upload.toString(), host + remote.resolve("copy" + mode + ".bin")));
      Result sent = SshClient.run(up, new byte[0]);
      assertThat(sent.exit()).as("scp %s up: %s", mode, sent).isZero();
      assertThat(Files.readAllBytes(remote.resolve("copy" + mode + ".bin"))).isEqualTo(data);
      Path back = tmp.resolve("back" + mode + ".bin");
      var down = new ArrayList<>(List.of("scp", mode));
      down.addAll(options);
      down.addAll(List.of(host + remote.resolve("copy" + mode + ".bin"), back.toString()));
      Result got = SshClient.run(down, new byte[0]);
      assertThat(got.exit()).as("scp %s down: %s", mode, got).isZero();
      assertThat(Files.readAllBytes(back)).isEqualTo(data);
    }
    var sftp = new ArrayList<>(List.of("sftp", "-b", "-"));
    sftp.addAll(options);
    sftp.add("boxd@" + ADDRESS.getHostAddress());
    Result listing = SshClient.run(sftp, ("ls " + remote + "\n").getBytes(StandardCharsets.UTF_8));
    assertThat(listing.exit()).as(listing.toString()).isZero();
    assertThat(listing.out()).contains("copy-s.bin").contains("copy-O.bin");
  }

  @Test
  void aHostKeyOtherThanTheVmsIsRefused() throws Exception {
    routes.hostKey = Files.readString(Path.of(SshClient.keygen(dir, "another-host") + ".pub")).strip();
    Result r = run(alice, "echo should-not-run");
    assertThat(r.exit()).isEqualTo(255);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).contains("host key other than its own");
  }

  @Test
  void aGuestThatIsNotUpYetIsRetried() throws Exception {
    Path lateDir = Files.createDirectories(dir.resolve("late"));
    try (GuestSshd late = new GuestSshd(lateDir, Files.readString(guest.dir.resolve("authorized_keys")).strip())) {
      routes.guestPort = late.port;
      routes.hostKey = Files.readString(late.hostKeyPub()).strip();
      Process ssh = new ProcessBuilder(ssh(alice, List.of(), "echo late-but-there")).start();
      Thread.sleep(1500);
      late.start();
      assertThat(ssh.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(new String(ssh.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("late-but-there\n");
      assertThat(ssh.exitValue()).isZero();
    }
  }

  @Test
  void aGuestThatGoesAwayEndsTheUsersSession() throws Exception {
    Path goneDir = Files.createDirectories(dir.resolve("gone"));
    try (GuestSshd gone = new GuestSshd(goneDir, Files.readString(guest.dir.resolve("authorized_keys")).strip()).start()) {
      routes.guestPort = gone.port;
      routes.hostKey = Files.readString(gone.hostKeyPub()).strip();
      Process ssh = new ProcessBuilder(ssh(alice, List.of(), "echo started; sleep 120")).start();
      var out = ssh.getInputStream();
      assertThat(new String(out.readNBytes(8), StandardCharsets.UTF_8)).isEqualTo("started\n");
      gone.kill();
      assertThat(ssh.waitFor(PROMPTLY.toSeconds(), TimeUnit.SECONDS)).as("ssh ends when the VM's side does").isTrue();
      assertThat(ssh.exitValue()).isNotZero();
    }
  }

  @Test
  void aUserWhoGoesAwayEndsTheGuestsSessionAndLeavesNothingOpen() throws Exception {
    await().atMost(PROMPTLY).until(() -> guest.sessions() == 0);
    long fds = openFiles();
    Process ssh = new ProcessBuilder(ssh(alice, List.of(), "echo started; sleep 120")).start();
    assertThat(new String(ssh.getInputStream().readNBytes(8), StandardCharsets.UTF_8)).isEqualTo("started\n");
    assertThat(guest.sessions()).isPositive();
    ssh.destroyForcibly().waitFor();
    await().atMost(PROMPTLY).until(() -> guest.sessions() == 0);
    await().atMost(PROMPTLY).untilAsserted(() -> assertThat(openFiles()).isLessThanOrEqualTo(fds));
  }

  @Test
  void sessionsToAVmThatIsGoneAreClosed() throws Exception {
    Process ssh = new ProcessBuilder(ssh(alice, List.of(), "echo started; sleep 120")).start();
    assertThat(new String(ssh.getInputStream().readNBytes(8), StandardCharsets.UTF_8)).isEqualTo("started\n");
    gateway.retainVms(Set.of("vm-1"));
    assertThat(ssh.isAlive()).isTrue();
    gateway.retainVms(Set.of());
    assertThat(ssh.waitFor(PROMPTLY.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(ssh.exitValue()).isEqualTo(255);
  }

  private static long openFiles() throws IOException {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private static Result runProcess(ProcessBuilder builder) {
    try {
      Process p = builder.start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(60, TimeUnit.SECONDS);
      return new Result(p.exitValue(), out, err);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
