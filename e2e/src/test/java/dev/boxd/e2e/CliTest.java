package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.testkit.server.LiveServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The laptop CLI as SPEC §12's clients drive it: installed alone on a machine (a user of its own),
 * logged in against a running server (the operator approves the code), then the machine noun form
 * with its JSON shapes, OpenSSH through the block it writes, and the errors of bad input.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CODE = Pattern.compile("^code: (\\S+)");
  private static final String MINE_BEFORE = "# mine, before the block\nHost example-before\n  User someone\n";
  private static final String MINE_AFTER = "\n# mine, after the block\nHost example-after\n  Port 2200\n";

  private static Laptop laptop;
  private static String apiUrl;
  private static Path ca;

  @BeforeAll
  static void installAndLogIn() throws Exception {
    laptop = new Laptop();
    apiUrl = "https://localhost:" + live.server().apiPort;
    ca = laptop.shared("ca.pem", live.server().caCertificate());
    // the user's own ssh config, which the CLI must never touch outside its block
    assertThat(laptop.sh("mkdir -p ~/.ssh && chmod 700 ~/.ssh && printf '%s' '" + MINE_BEFORE + "' > ~/.ssh/config && chmod 600 ~/.ssh/config")
        .exit()).isZero();
    Process login = laptop.start("auth", "login", "--api-url", apiUrl, "--ca-cert", ca.toString(), "--no-browser");
    String code = null;
    var stderr = new StringBuilder();
    try (var lines = new BufferedReader(new InputStreamReader(login.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null && code == null; line = lines.readLine()) {
        stderr.append(line).append('\n');
        Matcher m = CODE.matcher(line);
        if (m.find()) {
          code = m.group(1);
        }
      }
      assertThat(code).as("login output: %s", stderr).isNotNull();
      assertThat(stderr).contains("/register?code=" + code);
      live.server().admin("approve", code);
      assertThat(login.waitFor(60, TimeUnit.SECONDS)).as("login returns once linked").isTrue();
      String out = new String(login.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(login.exitValue()).as("login: %s %s", out, stderr).isZero();
      assertThat(out).contains("Logged in to " + apiUrl);
    } finally {
      login.destroyForcibly();
    }
    // a VM, so the block is there when the user adds lines after it
    var keep = laptop.boxd("new", "--name", "cli-keep");
    assertThat(keep.exit()).as("new: %s", keep.err()).isZero();
    assertThat(laptop.sh("cat ~/.ssh/config").out()).contains("Host cli-keep.localhost");
    laptop.sh("printf '%s' '" + MINE_AFTER + "' >> ~/.ssh/config");
  }

  @AfterAll
  static void uninstall() throws Exception {
    if (laptop != null) {
      laptop.close();
    }
  }

  @Test
  @Order(1)
  void credentialsArePrivateAndAuthSaysWhoThisIs() throws Exception {
    for (String file : new String[] {".config/boxd/credentials.json", ".config/boxd/id_ed25519", ".config/boxd/ca.pem"}) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(laptop.home.resolve(file)))).as(file).isEqualTo("rw-------");
    }
    JsonNode auth = json(laptop.boxd("auth", "--json"));
    assertThat(auth.get("logged_in").asText()).isEqualTo("true");
    assertThat(auth.get("user_id").asText()).isNotBlank();
  }

  @Test
  @Order(2)
  void machineLifecycleThroughTheNounFormAndOpenSsh() throws Exception {
    JsonNode created = json(laptop.boxd("machine", "new", "cli-app", "--isolated", "--json"));
    assertThat(fieldNames(created)).containsExactlyInAnyOrder("name", "id", "url", "source", "boot");
    created.fields().forEachRemaining(f -> assertThat(f.getValue().isTextual()).as(f.getKey()).isTrue());
    assertThat(created.get("boot").asText()).matches("\\d+ms");
    assertThat(created.get("url").asText()).isEqualTo("https://cli-app.localhost");
    String id = created.get("id").asText();

    JsonNode list = json(laptop.boxd("machine", "list", "--json"));
    assertThat(list.isArray()).isTrue();
    JsonNode item = find(list.elements(), "cli-app");
    assertThat(fieldNames(item)).containsExactlyInAnyOrder("name", "status", "url", "source", "sharing");

    JsonNode got = json(laptop.boxd("machine", "get", "cli-app", "--json"));
    assertThat(fieldNames(got)).containsExactlyInAnyOrder("name", "id", "status", "url", "ssh", "public_ip", "domains", "source",
        "auto_suspend", "auto_hibernate", "sharing", "networks", "isolated");
    got.fields().forEachRemaining(f -> assertThat(f.getValue().isTextual() || f.getValue().isNull()).as(f.getKey() + " string or null").isTrue());
    assertThat(got.get("isolated").asText()).isEqualTo("true");
    assertThat(got.get("id").asText()).isEqualTo(id);

    // OpenSSH through the block the CLI wrote, the edge's key pinned: no prompt, no other option.
    var ssh = laptop.sh("ssh -o StrictHostKeyChecking=yes -o BatchMode=yes cli-app.localhost true");
    assertThat(ssh.exit()).as("ssh: %s", ssh.err()).isZero();
    var rsync = laptop.sh("mkdir -p ~/work/sub && for i in 1 2 3; do head -c 100000 /dev/urandom > ~/work/sub/f$i; done"
        + " && rsync -a -e 'ssh -o StrictHostKeyChecking=yes -o BatchMode=yes' ~/work/ cli-app.localhost:work/"
        + " && (cd ~/work && find . -type f | sort | xargs sha256sum)");
    assertThat(rsync.exit()).as("rsync: %s", rsync.err()).isZero();
    var remote = laptop.boxd("machine", "exec", "cli-app", "--", "cd work && find . -type f | sort | xargs sha256sum");
    assertThat(remote.exit()).as(remote.err()).isZero();
    assertThat(remote.out()).isEqualTo(rsync.out());

    assertThat(laptop.boxd("machine", "stop", id).exit()).isZero();
    assertThat(json(laptop.boxd("machine", "get", id, "--json")).get("status").asText()).isEqualTo("stopped");
    assertThat(laptop.boxd("machine", "start", id).exit()).isZero();
    assertThat(json(laptop.boxd("machine", "get", id, "--json")).get("status").asText()).isEqualTo("running");
    var removed = laptop.boxd("machine", "remove", id, "--confirm", "--json");
    assertThat(removed.exit()).as(removed.err()).isZero();
    JSON.readTree(removed.out()); // one JSON document

    var gone = laptop.boxd("machine", "get", "cli-app");
    assertThat(gone.exit()).isNotZero();
    assertThat(gone.err().strip()).isEqualTo("error: VM 'cli-app' not found");
    assertThat(laptop.sh("cat ~/.ssh/config").out()).doesNotContain("cli-app.localhost");

    JsonNode again = json(laptop.boxd("machine", "new", "cli-app", "--json"));
    assertThat(again.get("id").asText()).isNotEqualTo(id);
    assertThat(laptop.boxd("machine", "remove", "cli-app", "-y").exit()).isZero();
  }

  @Test
  @Order(3)
  void execStreamsAndKeepsTheExitCodeCopiesGoBothWaysConnectIsATerminal() throws Exception {
    var exit = laptop.boxd("exec", "cli-keep", "--", "echo out; echo err >&2; exit 3");
    assertThat(exit.exit()).isEqualTo(3);
    assertThat(exit.out()).isEqualTo("out\n");
    assertThat(exit.err()).isEqualTo("err\n");
    var stdin = laptop.run(java.util.List.of(laptop.home.resolve(".local/bin/boxd").toString(), "exec", "cli-keep", "-e", "GREETING=hi", "--",
        "tr a-z A-Z; echo $GREETING"), "streamed through\n".getBytes(StandardCharsets.UTF_8));
    assertThat(stdin.out()).isEqualTo("STREAMED THROUGH\nhi\n");
    assertThat(laptop.boxd("exec", "cli-keep", "--timeout", "1", "--", "sleep 30").exit()).isEqualTo(124);

    // relative local paths: the working directory is the caller's, whichever process runs the call
    var copy = laptop.sh("cd ~ && head -c 3000000 /dev/urandom > blob && boxd cp blob cli-keep:blob && boxd cp cli-keep:blob back"
        + " && sha256sum < ~/blob && sha256sum < ~/back");
    assertThat(copy.exit()).as("cp: %s", copy.err()).isZero();
    var sums = copy.out().lines().toList();
    assertThat(sums).hasSize(2);
    assertThat(sums.get(1)).isEqualTo(sums.get(0));

    // connect: a real terminal on the laptop, a login shell in the VM
    var command = new java.util.ArrayList<>(java.util.List.of("runuser", "-u", laptop.user, "--", "env", "-i", "HOME=" + laptop.home, "TERM=xterm",
        "PATH=/usr/bin:/bin", laptop.home.resolve(".local/bin/boxd").toString(), "connect", "cli-keep"));
    try (var pty = dev.boxd.testkit.PtyClient.start(30, 100, command)) {
      pty.send("stty size; echo $((6*7))-$(whoami)\r");
      pty.expect("30 100"); // stty size, then the echo: in the order the shell prints them
      pty.expect("42-boxd");
      pty.send("exit\r");
      assertThat(pty.waitFor()).isZero();
    }
  }

  @Test
  @Order(4)
  void theUsersOwnSshConfigLinesAreUntouchedAfterTenRuns() throws Exception {
    for (int i = 0; i < 10; i++) {
      assertThat(laptop.boxd("list", "--json").exit()).isZero();
    }
    String config = laptop.sh("cat ~/.ssh/config").out();
    assertThat(config).startsWith(MINE_BEFORE).endsWith(MINE_AFTER).contains("Host cli-keep.localhost");
    assertThat(laptop.boxd("destroy", "-y", "cli-keep").exit()).isZero();
    assertThat(laptop.sh("cat ~/.ssh/config").out()).startsWith(MINE_BEFORE).endsWith(MINE_AFTER).doesNotContain("cli-keep");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(laptop.home.resolve(".ssh/config")))).isEqualTo("rw-------");
  }

  @Test
  @Order(5)
  void badInputIsOneClearLineAndANonZeroExitInUnderTenSeconds() throws Exception {
    String down = "https://localhost:" + dev.boxd.testkit.FreePorts.tcp();
    String[][] cases = {
        {"list", "--bogus"},
        {"machine", "frobnicate"},
        {"list", "--api-url", "ftp://nowhere"},
        {"list", "--api-url", down},
        {"list", "--api-url", "https://no-such-host.invalid:9443"},
    };
    for (String[] args : cases) {
      oneLineError(laptop.boxd(args), String.join(" ", args));
    }
    // a token past its expiry: a key that lives two seconds, exchanged for a token, used after it expired
    JsonNode key = json(laptop.boxd("auth", "keys", "create", "short", "--expires-in-secs", "2", "--json"));
    String secret = key.get("api_key").asText();
    long expires = java.time.Instant.parse(key.get("expires_at").asText()).toEpochMilli();
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() > expires + 1000);
    var expired = laptop.run(java.util.List.of("env", "BOXD_TOKEN=" + secret, laptop.home.resolve(".local/bin/boxd").toString(), "list"), null);
    oneLineError(expired, "expired token");
    assertThat(expired.err()).containsIgnoringCase("expired");
  }

  @Test
  @Order(6)
  void aLoggedInUsersCallsReachTheirResidentProcessWhichServesNobodyElse() throws Exception {
    // the launcher started it at the first call that found none; every call since was the thin client on its socket
    Path sockets = laptop.home.resolve(".cache/boxd");
    Path socket;
    try (var files = Files.list(sockets)) {
      socket = files.filter(p -> p.getFileName().toString().endsWith(".sock")).findFirst().orElseThrow();
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sockets))).isEqualTo("rwx------");
    assertThat(Files.getOwner(socket).getName()).isEqualTo(laptop.user);
    String client = laptop.home.resolve(".local/lib/boxd-cli/boxd-client").toString();
    // the thin client with no launcher to fall back to: only the resident process can answer it
    var listed = laptop.run(java.util.List.of("env", "BOXD_GATEWAY=unix:" + socket, client, "machine", "list", "--json"), null);
    assertThat(listed.exit()).as("list through the resident: %s", listed.err()).isZero();
    assertThat(JSON.readTree(listed.out()).isArray()).isTrue();
    // another user (root, who can enter the directory) is refused by the peer credentials check
    Process other = new ProcessBuilder("env", "BOXD_GATEWAY=unix:" + socket, client, "list").start();
    String err = new String(other.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(other.exitValue()).as(err).isEqualTo(dev.boxd.core.ErrorCode.PERMISSION_DENIED.exitCode());
    assertThat(err).contains("serves user " + laptop.user + " only");

    // a call with another HOME (a script's temporary one) is not the user's login, whatever else it shares
    var home = laptop.sh("mkdir -p ~/rt ~/other-home && chmod 700 ~/rt && export XDG_RUNTIME_DIR=~/rt"
        + " && boxd machine list --json >/dev/null && HOME=~/other-home boxd machine list --json");
    assertThat(home.exit()).as("another HOME: %s", home.out()).isNotZero();
    assertThat(home.out()).contains("not logged in");
  }

  private static void oneLineError(Laptop.Run run, String what) {
    assertThat(run.exit()).as("%s exits non-zero", what).isNotZero();
    assertThat(run.err().strip()).as("%s: one error line", what).startsWith("error: ").doesNotContain("\n").doesNotContain("\tat ")
        .doesNotContain("Exception");
    assertThat(run.millis()).as("%s took", what).isLessThan(10_000);
  }

  private static JsonNode json(Laptop.Run run) throws Exception {
    assertThat(run.exit()).as("exit; stderr: %s", run.err()).isZero();
    return JSON.readTree(run.out());
  }

  private static java.util.List<String> fieldNames(JsonNode node) {
    var names = new java.util.ArrayList<String>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static JsonNode find(Iterator<JsonNode> items, String name) {
    while (items.hasNext()) {
      JsonNode item = items.next();
      if (item.get("name").asText().equals(name)) {
        return item;
      }
    }
    throw new AssertionError("no " + name + " in the list");
  }
}
