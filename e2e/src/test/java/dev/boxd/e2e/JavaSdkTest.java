package dev.boxd.e2e;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.sdk.APIConnectionError;
import dev.boxd.sdk.Boxd;
import dev.boxd.sdk.CreateOptions;
import dev.boxd.sdk.ExecOptions;
import dev.boxd.sdk.ExecResult;
import dev.boxd.sdk.ExecStream;
import dev.boxd.sdk.Identity;
import dev.boxd.sdk.InvalidArgumentError;
import dev.boxd.sdk.Machine;
import dev.boxd.sdk.NotFoundError;
import dev.boxd.sdk.OutputChunk;
import dev.boxd.sdk.PauseResult;
import dev.boxd.sdk.ProxyRoute;
import dev.boxd.sdk.ResumeResult;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Java SDK against a real server over real TLS with an API key made over SSH: a VM's life
 * (create, exec, streaming exec, files and directories, fork, pause and resume, proxies, delete) and the errors a
 * program switches on. At most two VMs at once; every VM made here is deleted here.
 */
class JavaSdkTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static final int TEN_MIB = 10 * 1024 * 1024;

  static SshUser user;
  static Path caFile;
  static String apiKey;
  static Boxd boxd;
  static final List<String> made = new ArrayList<>();

  @BeforeAll
  static void connect() throws Exception {
    user = live.user("java-sdk");
    apiKey = json(user.run("api-key", "create", "--json")).path("api_key").asText();
    caFile = Files.createTempFile("boxd-java-sdk-ca-", ".pem");
    Files.writeString(caFile, live.server().caCertificate());
    boxd = Boxd.builder().apiUrl("https://localhost:" + live.server().apiPort).apiKey(apiKey).caCertificate(caFile).build();
  }

  @AfterAll
  static void cleanUp() throws IOException {
    if (boxd != null) {
      for (String id : made) {
        try {
          boxd.machines().delete(id);
        } catch (NotFoundError alreadyGone) {
          // deleted by the test itself
        }
      }
      boxd.close();
    }
    if (caFile != null) {
      Files.deleteIfExists(caFile);
    }
  }

  static Machine track(Machine vm) {
    made.add(vm.id());
    return vm;
  }

  @Test
  void theApiKeyActsAsItsAccount() throws Exception {
    Identity me = boxd.whoami();
    assertThat(me.userId()).isEqualTo(json(user.run("whoami", "--json")).path("user_id").asText());
    assertThat(me.keyFingerprints()).isNotEmpty();
  }

  @Test
  void errorsArriveAsTheirClasses() throws Exception {
    assertThatThrownBy(() -> boxd.machines().get("jsdk-never-made")).isInstanceOf(NotFoundError.class)
        .hasMessageContaining("jsdk-never-made");
    assertThatThrownBy(() -> boxd.machines().create(CreateOptions.named("Not_A_Label"))).isInstanceOf(InvalidArgumentError.class)
        .hasMessageContaining("Not_A_Label");
    // Without the cluster's CA the system's trust store does not know the certificate: a TLS failure, said so.
    try (Boxd untrusting = Boxd.builder().apiUrl("https://localhost:" + live.server().apiPort).apiKey(apiKey).build()) {
      assertThatThrownBy(untrusting::whoami).isInstanceOf(APIConnectionError.class).hasMessageContaining("TLS")
          .hasMessageContaining("https://localhost:" + live.server().apiPort).hasMessageContaining("BOXD_CA_CERT");
    }
  }

  @Test
  void aVmsWholeLifeThroughTheSdk() throws Exception {
    Machine a = track(boxd.machines().create(CreateOptions.builder().name("jsdk-a").autoSuspendTimeout(Duration.ZERO).build()));
    assertThat(a.status()).isEqualTo("running");
    assertThat(a.name()).isEqualTo("jsdk-a");
    assertThat(a.url()).startsWith("https://jsdk-a.");
    assertThat(boxd.machines().get("jsdk-a").id()).isEqualTo(a.id());
    assertThat(boxd.machines().list()).extracting(Machine::id).contains(a.id());
    assertThat(boxd.machines().waitUntilReady(a.id(), Duration.ofSeconds(30)).isRunning()).isTrue();

    exec(a);
    streamingExec(a);
    String sha = files(a);
    proxies(a);

    Machine b = track(boxd.machines().fork(a.id(), "jsdk-b"));
    assertThat(b.id()).isNotEqualTo(a.id());
    assertThat(b.name()).isEqualTo("jsdk-b");
    assertThat(boxd.machines().exec(b.id(), "sha256sum big.bin | cut -d' ' -f1").stdout().strip()).as("the fork has the disk").isEqualTo(sha);
    boxd.machines().delete(b.id());
    assertThatThrownBy(() -> boxd.machines().get(b.id())).isInstanceOf(NotFoundError.class);

    PauseResult paused = boxd.machines().pause(a.id());
    assertThat(paused.suspendUs()).isPositive();
    assertThat(boxd.machines().get(a.id()).status()).isEqualTo("standby");
    ResumeResult resumed = boxd.machines().resume(a.id());
    assertThat(resumed.resumeUs()).isPositive();
    assertThat(boxd.machines().get(a.id()).status()).isEqualTo("running");
    assertThat(boxd.machines().exec(a.id(), "echo awake").stdout()).isEqualTo("awake\n");

    boxd.machines().delete(a.id());
    assertThatThrownBy(() -> boxd.machines().get(a.id())).isInstanceOf(NotFoundError.class);
  }

  private static void exec(Machine vm) {
    ExecResult r = boxd.machines().exec(vm.id(), ExecOptions.builder()
        .command("echo out; echo \"$GREETING\"; echo err >&2; exit 3").env("GREETING", "hello there").build());
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.success()).isFalse();
    assertThat(r.stdout()).isEqualTo("out\nhello there\n");
    assertThat(r.stderr()).isEqualTo("err\n");

    assertThat(boxd.machines().exec(vm.id(), List.of("printf", "%s|", "a b", "it's", "$HOME")).stdout()).isEqualTo("a b|it's|$HOME|");
    assertThat(boxd.machines().exec(vm.id(), ExecOptions.builder().command("tr a-z A-Z")
        .stdin("shout\n".getBytes(StandardCharsets.UTF_8)).build()).stdout()).isEqualTo("SHOUT\n");
    assertThat(boxd.machines().exec(vm.id(), ExecOptions.builder().command("sleep 30").timeout(Duration.ofSeconds(1)).build()).exitCode())
        .isEqualTo(124);
  }

  // Output must arrive while stdin is still open: each line is answered before the next is written.
  private static void streamingExec(Machine vm) throws IOException {
    try (ExecStream run = boxd.machines().execStream(vm.id(), ExecOptions.of("while read l; do echo got:$l; done; echo done >&2"))) {
      for (String line : List.of("one", "two")) {
        run.stdin().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        run.stdin().flush();
        assertThat(readStdoutUntil(run, "got:" + line + "\n")).endsWith("got:" + line + "\n");
      }
      run.closeStdin();
      var stderr = new ByteArrayOutputStream();
      int exit = -1;
      for (OutputChunk chunk : run) {
        assertThat(chunk.isStdout()).as("no stdout after stdin's end").isFalse();
        if (chunk.isStderr()) {
          stderr.writeBytes(chunk.data());
        } else {
          exit = chunk.exitCode();
        }
      }
      assertThat(stderr.toString(StandardCharsets.UTF_8)).isEqualTo("done\n");
      assertThat(exit).isZero();
    }
  }

  private static String readStdoutUntil(ExecStream run, String end) {
    var out = new StringBuilder();
    while (!out.toString().endsWith(end)) {
      OutputChunk chunk = run.next();
      assertThat(chunk.isExit()).as("the command ended early; output so far: %s", out).isFalse();
      if (chunk.isStdout()) {
        out.append(chunk.text());
      }
    }
    return out.toString();
  }

  /** 10 MiB up from a file and down into a stream, checked by SHA-256 on both sides; returns the checksum. */
  private static String files(Machine vm) throws Exception {
    byte[] data = new byte[TEN_MIB];
    new Random(14).nextBytes(data);
    Path local = Files.createTempFile("boxd-java-sdk-", ".bin");
    try {
      Files.write(local, data);
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
      assertThat(boxd.files().upload(vm.id(), "big.bin", local)).isEqualTo(TEN_MIB);
      assertThat(boxd.machines().exec(vm.id(), "sha256sum /home/boxd/big.bin | cut -d' ' -f1").stdout().strip()).isEqualTo(sha);

      MessageDigest down = MessageDigest.getInstance("SHA-256");
      try (OutputStream sink = new DigestOutputStream(OutputStream.nullOutputStream(), down)) {
        assertThat(boxd.files().download(vm.id(), "big.bin", sink)).isEqualTo(TEN_MIB);
      }
      assertThat(HexFormat.of().formatHex(down.digest())).isEqualTo(sha);

      assertThat(boxd.files().listDir(vm.id(), "")).filteredOn(e -> e.name().equals("big.bin")).singleElement()
          .satisfies(e -> assertThat(e.type()).isEqualTo("file")).satisfies(e -> assertThat(e.size()).isEqualTo(TEN_MIB));

      assertThat(boxd.files().upload(vm.id(), "/tmp/small.txt", "small\n".getBytes(StandardCharsets.UTF_8))).isEqualTo(6);
      assertThat(boxd.files().download(vm.id(), "/tmp/small.txt")).asString(StandardCharsets.UTF_8).isEqualTo("small\n");
      assertThatThrownBy(() -> boxd.files().download(vm.id(), "no-such-file")).isInstanceOf(NotFoundError.class);
      return sha;
    } finally {
      Files.deleteIfExists(local);
    }
  }

  private static void proxies(Machine vm) {
    ProxyRoute route = boxd.proxies().setPort(vm.id(), 8080);
    assertThat(route.name()).isEqualTo("default");
    assertThat(route.port()).isEqualTo(8080);
    assertThat(boxd.proxies().list(vm.id())).contains(route);
    ProxyRoute api = boxd.proxies().create(vm.id(), "api", 9000);
    assertThat(api.domain()).startsWith("api.jsdk-a.");
    assertThat(boxd.proxies().setPort(vm.id(), "api", 9001).port()).isEqualTo(9001);
    boxd.proxies().delete(vm.id(), "api");
    assertThat(boxd.proxies().list(vm.id())).extracting(ProxyRoute::name).doesNotContain("api");
  }
}
