package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.exec;
import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.testkit.PtyClient;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Direct SSH into a VM, as a user does it: a real {@code boxd server}, real VMs, and the real
 * OpenSSH ssh, scp and sftp against the VM SSH gateway on the VMs' public addresses.
 */
class VmSshTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;
  static SshUser bob;
  static SshUser carol;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("vmssh-alice");
    bob = live.user("vmssh-bob");
    carol = live.user("vmssh-carol");
  }

  /** ssh to the VM gateway at {@code address}. */
  static SshUser.Run intoVm(SshUser user, String address, String... command) throws Exception {
    return SshUser.run(user.command(live.server().vmSshPort, "boxd@" + address, command), InputStream.nullInputStream(),
        SshUser.OutputStreamSink.capture());
  }

  @Test
  void sshScpAndSftpIntoTheOwnersVmAtASharedAddress(@TempDir Path tmp) throws Exception {
    long t0 = System.nanoTime();
    JsonNode app = json(alice.run("new", "--name=vmssh-app", "--json"));
    long newMs = (System.nanoTime() - t0) / 1_000_000;
    long t5 = System.nanoTime();
    JsonNode other = json(bob.run("new", "--name=vmssh-bobs", "--json"));
    long secondNewMs = (System.nanoTime() - t5) / 1_000_000;
    String ip = app.path("public_ip").asText();
    assertThat(ip).startsWith("127.77.");
    assertThat(other.path("public_ip").asText()).as("public addresses are shared across owners").isEqualTo(ip);

    long t1 = System.nanoTime();
    SshUser.Run first = intoVm(alice, ip, "id -un; hostname; echo to-stderr >&2; exit 7");
    long firstMs = (System.nanoTime() - t1) / 1_000_000;
    assertThat(first.exit()).as("stderr: %s", first.err()).isEqualTo(7);
    assertThat(first.out()).isEqualTo("boxd\nvmssh-app\n");
    assertThat(first.err()).isEqualTo("to-stderr\n");
    long t2 = System.nanoTime();
    SshUser.Run anyUser = SshUser.run(alice.command(live.server().vmSshPort, "any-name-goes@" + ip, "id -un"), InputStream.nullInputStream(),
        SshUser.OutputStreamSink.capture());
    assertThat(anyUser.out()).as("whatever the user name, the VM's user is boxd").isEqualTo("boxd\n");
    long againMs = (System.nanoTime() - t2) / 1_000_000;
    assertThat(intoVm(bob, ip, "hostname").out()).as("the key picks the owner's VM").isEqualTo("vmssh-bobs\n");
    // The platform key has a root-owned file of its own; ~/.ssh/authorized_keys is the user's.
    assertThat(intoVm(alice, ip, "stat -c '%a %U %n' /etc/boxd/authorized_keys/boxd; test -e ~/.ssh/authorized_keys || echo none").out())
        .isEqualTo("644 root /etc/boxd/authorized_keys/boxd\nnone\n");
    long t4 = System.nanoTime();
    assertThat(alice.run("whoami").exit()).isZero();
    long frontDoorMs = (System.nanoTime() - t4) / 1_000_000;
    System.out.printf("timing: new %d ms (first VM), %d ms (second); first ssh exec through the gateway %d ms; next %d ms; "
        + "a verb at the front door %d ms%n", newMs, secondNewMs, firstMs, againMs, frontDoorMs);

    // Keys without a VM at this address are refused: another account's, an unknown one.
    SshUser.Run refused = intoVm(carol, ip, "true");
    assertThat(refused.exit()).isEqualTo(255);
    assertThat(refused.err()).contains("Permission denied (publickey)");
    SshUser stranger = live.stranger("vmssh-stranger");
    assertThat(intoVm(stranger, ip, "true").err()).contains("Permission denied (publickey)");

    // An interactive shell on a terminal.
    long t3 = System.nanoTime();
    try (var tty = PtyClient.start(30, 100, PtyClient.withTty(alice.command(live.server().vmSshPort, "boxd@" + ip), "boxd@" + ip))) {
      tty.expect("boxd@vmssh-app:");
      long promptMs = (System.nanoTime() - t3) / 1_000_000;
      System.out.printf("timing: shell prompt through the gateway %d ms%n", promptMs);
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
      tty.send("exit 3\r");
      assertThat(tty.waitFor()).isEqualTo(3);
    }

    // scp both ways over the legacy protocol (exec) and the sftp subsystem; sftp itself.
    Path upload = tmp.resolve("upload.bin");
    byte[] data = new byte[5 << 20];
    new Random(11).nextBytes(data);
    Files.write(upload, data);
    for (String mode : List.of("-O", "-s")) {
      String remote = "boxd@" + ip + ":copy" + mode + ".bin";
      assertThat(scp(mode, upload.toString(), remote).exit()).isZero();
      Path back = tmp.resolve("back" + mode + ".bin");
      assertThat(scp(mode, remote, back.toString()).exit()).isZero();
      assertThat(Files.readAllBytes(back)).isEqualTo(data);
    }
    assertThat(intoVm(alice, ip, "sha256sum < copy-O.bin").out()).startsWith(SshUser.sha256(upload));
    var sftp = new ArrayList<>(List.of("sftp", "-b", "-", "-P", Integer.toString(live.server().vmSshPort), "-i", alice.key.toString(),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "boxd@" + ip));
    SshUser.Run listing = SshUser.run(sftp, new java.io.ByteArrayInputStream("ls -l\n".getBytes(StandardCharsets.UTF_8)),
        SshUser.OutputStreamSink.capture());
    assertThat(listing.exit()).as(listing.err()).isZero();
    assertThat(listing.out()).contains("copy-O.bin").contains("copy-s.bin");

    // An SSH connection is inbound traffic: it wakes a VM in standby.
    assertThat(json(alice.run("pause", "vmssh-app", "--json")).path("suspend_us").asLong()).isPositive();
    assertThat(intoVm(alice, ip, "echo awake").out()).isEqualTo("awake\n");
    assertThat(json(alice.run("info", "vmssh-app", "--json")).path("status").asText()).isEqualTo("running");

    // Once alice's VM is destroyed her key no longer gets in; the address stays for bob's VM.
    assertThat(alice.run("destroy", "-y", "vmssh-app").exit()).isZero();
    assertThat(intoVm(alice, ip, "true").err()).contains("Permission denied (publickey)");
    assertThat(intoVm(bob, ip, "hostname").out()).isEqualTo("vmssh-bobs\n");
    // With the last VM at the address gone, nothing listens there.
    assertThat(bob.run("destroy", "-y", "vmssh-bobs").exit()).isZero();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      SshUser.Run gone = intoVm(bob, ip, "true");
      assertThat(gone.exit()).isEqualTo(255);
      assertThat(gone.err()).contains("Connection refused");
    });
  }

  @Test
  void sshConfigAliasesWorkWithStrictHostKeyChecking(@TempDir Path tmp) throws Exception {
    JsonNode web = json(carol.run("new", "--name=vmssh-web", "--json"));
    // The VM's own port on the edge (SPEC §12), as info shows it: "ssh -p PORT boxd@vmssh-web.localhost".
    int port = Integer.parseInt(web.path("ssh").asText().split(" ")[2]);
    try {
      SshUser.Run config = carol.run("ssh-config");
      assertThat(config.exit()).as(config.err()).isZero();
      assertThat(config.out()).contains("Host vmssh-web.localhost\n").contains("  User boxd\n")
          .contains("  Port " + port + "\n").contains("  HostName " + live.server().edgeAddress + "\n");
      Path file = tmp.resolve("config");
      Files.writeString(file, config.out());
      // The known_hosts line the output names: the gateway's key under the alias every entry uses.
      String knownHost = config.out().lines().filter(l -> l.startsWith("# boxd-vms.localhost ssh-ed25519 ")).findFirst().orElseThrow()
          .substring(2);
      Path knownHosts = tmp.resolve("known_hosts");
      Files.writeString(knownHosts, knownHost + "\n");
      List<String> ssh = List.of("ssh", "-F", file.toString(), "-i", carol.key.toString(), "-o", "IdentitiesOnly=yes",
          "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts, "vmssh-web.localhost", "hostname");
      SshUser.Run run = SshUser.run(ssh, InputStream.nullInputStream(), SshUser.OutputStreamSink.capture());
      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.out()).isEqualTo("vmssh-web\n");

      // rsync over that SSH, as tools that sync a work tree into a VM do (crabbox: rsync -e ssh).
      Path tree = Files.createDirectories(tmp.resolve("tree/sub"));
      Files.writeString(tree.resolve("b"), "two\n");
      Files.writeString(tmp.resolve("tree/a"), "one\n");
      String rsh = String.join(" ", ssh.subList(0, ssh.size() - 2));
      SshUser.Run rsync = SshUser.run(List.of("rsync", "-a", "-e", rsh, tmp.resolve("tree") + "/", "vmssh-web.localhost:copy/"),
          InputStream.nullInputStream(), SshUser.OutputStreamSink.capture());
      assertThat(rsync.exit()).as("rsync -e ssh: %s", rsync.err()).isZero();
      assertThat(exec(carol, "vmssh-web", "cat copy/a copy/sub/b")).isEqualTo("one\ntwo");
      JsonNode asJson = json(carol.run("ssh-config", "--json"));
      assertThat(asJson.path("hosts").get(0).path("host").asText()).isEqualTo("vmssh-web.localhost");
      assertThat(asJson.path("hosts").get(0).path("port").asInt()).isEqualTo(port);
    } finally {
      carol.run("destroy", "-y", "vmssh-web");
    }
    assertThat(carol.run("ssh-config").out()).doesNotContain("\nHost ");
  }

  static SshUser.Run scp(String mode, String from, String to) throws Exception {
    List<String> argv = List.of("scp", mode, "-P", Integer.toString(live.server().vmSshPort), "-i", alice.key.toString(), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", from, to);
    SshUser.Run run = SshUser.run(argv, InputStream.nullInputStream(), SshUser.OutputStreamSink.capture());
    assertThat(run.exit()).as("scp %s %s %s: %s", mode, from, to, run.err()).isZero();
    return run;
  }

}
