package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.testkit.PtyClient;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product as a user meets it: a real {@code boxd server} process with real VMs, driven only
 * through the OpenSSH client.
 */
class SingleNodeTourTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;
  static SshUser bob;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("tour-alice");
    bob = live.user("tour-bob");
  }

  static java.util.Optional<Path> warmVmReady(Path vms) throws java.io.IOException {
    if (!Files.isDirectory(vms)) {
      return java.util.Optional.empty();
    }
    try (var dirs = Files.list(vms)) {
      for (Path dir : dirs.toList()) {
        Path marker = dir.resolve("pool.json");
        if (Files.exists(marker) && LiveServer.JSON.readTree(marker.toFile()).path("ready").asBoolean()) {
          return java.util.Optional.of(dir);
        }
      }
    }
    return java.util.Optional.empty();
  }

  @Test
  void theWholeTour(@TempDir Path tmp) throws Exception {
    // The server keeps a VM of the default size warm; once it waits, `new` takes it: the warm
    // VM's directory becomes the new VM's.
    Path vms = live.server().dataDir.resolve("worker").resolve("vms");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(3)).until(() -> warmVmReady(vms).isPresent());
    Path warm = warmVmReady(vms).orElseThrow();
    JsonNode created = json(alice.run("new", "--name=tour-app", "--json"));
    assertThat(created.path("name").asText()).isEqualTo("tour-app");
    assertThat(created.path("status").asText()).isEqualTo("running");
    String id = created.path("vm_id").asText();
    assertThat(warm.resolve("pool.json")).doesNotExist();
    assertThat(LiveServer.JSON.readTree(warm.resolve("vm.json").toFile()).path("id").asText()).isEqualTo(id);

    JsonNode list = json(alice.run("list", "--json"));
    assertThat(list.isArray()).isTrue();
    assertThat(list).hasSize(1);
    assertThat(list.get(0).path("vm_id").asText()).isEqualTo(id);
    JsonNode info = json(alice.run("info", "tour-app", "--json"));
    assertThat(info.path("ip").asText()).isNotEmpty();
    assertThat(json(alice.run("info", id, "--json")).path("name").asText()).as("by id too").isEqualTo("tour-app");

    assertThat(alice.run("exec", "tour-app", "--", "uname -s; exit 7").exit()).isEqualTo(7);
    SshUser.Run split = alice.run("exec", "tour-app", "--", "echo out; echo err >&2");
    assertThat(split.out()).isEqualTo("out\n");
    assertThat(split.err()).isEqualTo("err\n");
    assertThat(alice.run("hello from stdin\n".getBytes(StandardCharsets.UTF_8), "exec", "tour-app", "--", "tr a-z A-Z").out())
        .isEqualTo("HELLO FROM STDIN\n");
    SshUser.Run execRun = alice.run("exec", "tour-app", "--json", "--", "echo hi; echo oops >&2; exit 3");
    assertThat(execRun.exit()).as("the remote exit code, with --json too").isEqualTo(3);
    JsonNode execJson = LiveServer.JSON.readTree(execRun.out());
    assertThat(execJson.path("exit_code").asInt()).isEqualTo(3);
    assertThat(execJson.path("stdout").asText()).isEqualTo("hi\n");
    assertThat(execJson.path("stderr").asText()).isEqualTo("oops\n");

    Path upload = tmp.resolve("upload.bin");
    byte[] chunk = new byte[1 << 20];
    new Random(7).nextBytes(chunk);
    try (OutputStream out = Files.newOutputStream(upload)) {
      for (int i = 0; i < 50; i++) {
        out.write(chunk);
      }
    }
    try (InputStream in = Files.newInputStream(upload)) {
      assertThat(alice.run(in, SshUser.OutputStreamSink.capture(), "cp", "-", "tour-app:data/upload.bin").exit()).isZero();
    }
    Path download = tmp.resolve("download.bin");
    try (OutputStream out = Files.newOutputStream(download)) {
      assertThat(alice.run(InputStream.nullInputStream(), SshUser.OutputStreamSink.to(out), "cp", "tour-app:data/upload.bin", "-").exit()).isZero();
    }
    assertThat(SshUser.sha256(download)).isEqualTo(SshUser.sha256(upload));

    JsonNode paused = json(alice.run("pause", "tour-app", "--json"));
    assertThat(paused.path("suspend_us").asLong()).isPositive();
    assertThat(json(alice.run("info", "tour-app", "--json")).path("status").asText()).isEqualTo("standby");
    JsonNode resumed = json(alice.run("resume", "tour-app", "--json"));
    assertThat(resumed.path("resume_us").asLong()).isPositive();

    // A key the user adds to ~/.ssh/authorized_keys stays: the identity, given again after the
    // reboot, writes the platform's key elsewhere.
    String userKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBoxdTourUserKeyOnlyForThisTest0000000000 me@laptop";
    assertThat(alice.run("exec", "tour-app", "--", "echo before-reboot > kept.txt && mkdir -p -m 700 .ssh && echo '" + userKey
        + "' >> .ssh/authorized_keys && sync").exit()).isZero();
    json(alice.run("reboot", "tour-app", "--json"));
    assertThat(alice.run("exec", "tour-app", "--", "cat kept.txt").out()).isEqualTo("before-reboot\n");
    assertThat(alice.run("exec", "tour-app", "--", "cat .ssh/authorized_keys").out()).isEqualTo(userKey + "\n");

    assertThat(alice.run("destroy", "-y", "tour-app").exit()).isZero();
    assertThat(json(alice.run("list", "--json"))).isEmpty();
    assertThat(live.server().qemuPids()).isEmpty();
  }

  @Test
  void anotherUserCannotSeeOrTouchTheVms() throws Exception {
    json(alice.run("new", "--name=tour-private", "--json"));
    assertThat(json(bob.run("list", "--json"))).isEmpty();
    for (String[] verb : List.of(new String[] {"info", "tour-private"}, new String[] {"exec", "tour-private", "--", "true"},
        new String[] {"cp", "tour-private:/etc/hostname", "-"}, new String[] {"destroy", "-y", "tour-private"}, new String[] {"pause", "tour-private"})) {
      SshUser.Run run = bob.run(verb);
      assertThat(run.exit()).as("bob: %s", String.join(" ", verb)).isEqualTo(dev.boxd.core.ErrorCode.NOT_FOUND.exitCode());
      assertThat(run.err()).contains("no VM named \"tour-private\"");
    }
    assertThat(json(alice.run("info", "tour-private", "--json")).path("status").asText()).isEqualTo("running");
    assertThat(alice.run("destroy", "-y", "tour-private").exit()).isZero();
  }

  @Test
  void anUnknownKeyIsToldHowToRegisterAndTheOperatorApprovesIt() throws Exception {
    SshUser stranger = live.stranger("tour-stranger");
    SshUser.Run run = stranger.run("list");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains("register?code=").contains("boxd admin approve");
    var code = java.util.regex.Pattern.compile("approve ([A-Z0-9]+)").matcher(run.err());
    assertThat(code.find()).isTrue();

    Process approve = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "admin", "--data", live.server().dataDir.toString(), "approve", code.group(1), "--user", "tour-dana")
        .redirectErrorStream(true).start();
    String said = new String(approve.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(approve.waitFor()).as(said).isZero();
    assertThat(said).contains("linked to user tour-dana");
    assertThat(stranger.run("whoami").out()).contains("tour-dana");
    assertThat(json(stranger.run("list", "--json"))).isEmpty();
  }

  @Test
  void connectIsAnInteractiveShellInTheVm() throws Exception {
    json(alice.run("new", "--name=tour-shell", "--json"));
    try (var tty = PtyClient.start(30, 100, PtyClient.withTty(alice.command("127.0.0.1", "connect", "tour-shell"), "127.0.0.1"))) {
      tty.expect("boxd@tour-shell:"); // the login shell's prompt: keys typed before it may be discarded
      tty.send("echo inside-$(hostname)-$(tty | cut -c1-8)\r");
      tty.expect("inside-tour-shell-/dev/pts");
      tty.send("exit\r");
      tty.waitFor();
    } finally {
      alice.run("destroy", "-y", "tour-shell");
    }
  }

  @Test
  void theEleventhVmIsRefused() throws Exception {
    SshUser carol = live.user("tour-carol");
    List<String> names = new ArrayList<>();
    try {
      for (int i = 1; i <= 10; i++) {
        json(carol.run("new", "--name=tour-q" + i, "--json"));
        names.add("tour-q" + i);
      }
      SshUser.Run eleventh = carol.run("new", "--name=tour-q11", "--json");
      assertThat(eleventh.exit()).isEqualTo(dev.boxd.core.ErrorCode.RESOURCE_EXHAUSTED.exitCode());
      JsonNode error = LiveServer.JSON.readTree(eleventh.out()).path("error");
      assertThat(error.path("code").asText()).isEqualTo("RESOURCE_EXHAUSTED");
      assertThat(error.path("message").asText()).contains("10");
      assertThat(json(carol.run("list", "--json"))).hasSize(10);
    } finally {
      for (String name : names) {
        carol.run("destroy", "-y", name);
      }
    }
  }

  @Test
  void badInputGetsAClearErrorAndLeavesNothing() throws Exception {
    SshUser.Run unknown = alice.run("frobnicate");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).startsWith("error: ").contains("frobnicate");
    assertThat(alice.run("new", "--bogus-flag").exit()).isEqualTo(2);
    SshUser.Run badName = alice.run("new", "--name=Not_Valid", "--json");
    assertThat(badName.exit()).isEqualTo(2);
    assertThat(LiveServer.JSON.readTree(badName.out()).path("error").path("code").asText()).isEqualTo("INVALID_ARGUMENT");
    assertThat(alice.run("info", "x".repeat(100_000)).exit()).isNotZero();
    assertThat(alice.run("exec", "\u0001\u001b[31m\u00ff", "--", "true").exit()).isNotZero();
    assertThat(json(alice.run("list", "--json"))).isEmpty();

    // A client that disconnects in the middle of a copy hurts no one.
    json(alice.run("new", "--name=tour-sturdy", "--json"));
    Process cut = new ProcessBuilder(alice.command("127.0.0.1", "cp", "-", "tour-sturdy:partial.bin")).start();
    try (OutputStream in = cut.getOutputStream()) {
      in.write(new byte[4 << 20]);
      in.flush();
      cut.destroyForcibly();
    } catch (java.io.IOException expected) {
      // the pipe breaks as ssh dies
    }
    cut.waitFor(30, TimeUnit.SECONDS);
    assertThat(alice.run("exec", "tour-sturdy", "--", "echo still-fine").out()).isEqualTo("still-fine\n");
    assertThat(json(alice.run("list", "--json"))).hasSize(1);
    assertThat(alice.run("destroy", "-y", "tour-sturdy").exit()).isZero();
  }

  @Test
  void thePromptWorksThroughATerminal() throws Exception {
    try (var tty = PtyClient.start(30, 100, PtyClient.withTty(alice.command("127.0.0.1"), "127.0.0.1"))) {
      tty.expect("boxd>");
      tty.send("list\r");
      assertThat(tty.expect("boxd>")).contains("NAME").contains("STATUS");
      tty.send("exit\r");
      assertThat(tty.waitFor()).isZero();
    }
  }
}
