package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys and accounts: registration of unknown keys, the host key, and what the door refuses. */
class FrontDoorAccountsTest {
  @TempDir
  Path dir;

  @Test
  void anUnknownKeyIsToldHowToRegisterAndRunsNothing() throws Exception {
    try (var door = new Door(dir)) {
      var r = door.stranger.ssh("list");
      assertThat(r.exit()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
      String fingerprint = SshClient.fingerprint(door.strangerKey);
      String code = FakeAccounts.codeFor(fingerprint);
      assertThat(r.err()).hasLineCount(1)
          .contains(fingerprint)
          .contains("Register it at https://" + Door.WEB_HOST + "/register?code=" + code + " ")
          .contains("or ask the operator: boxd admin approve " + code);
      String pub = Files.readString(Path.of(door.strangerKey + ".pub"));
      String[] fields = pub.split(" ");
      assertThat(door.accounts.registrations.get(fingerprint)).startsWith(fields[0] + " " + fields[1]);
      assertThat(door.accounts.sources.get(fingerprint)).as("the client's address").isEqualTo("127.0.0.1");
      assertThat(door.ops.calls).isEmpty();

      r = SshClient.run(door.stranger.argv(List.of("-T")), "list\n".getBytes());
      assertThat(r.exit()).as("a shell request too").isEqualTo(1);
      assertThat(r.out()).isEmpty();
      assertThat(r.err()).contains("/register?code=" + code);

      door.accounts.accountByFingerprint.put(fingerprint, "user-2");
      assertThat(door.stranger.ssh("list").exit()).as("linked: reconnect and you are in").isZero();
    }
  }

  @Test
  void accountLookupFailuresAreReported() throws Exception {
    try (var door = new Door(dir)) {
      var failing = new FakeAccounts(door.ops) {
        @Override
        public Optional<String> accountOf(String fingerprint) {
          throw new BoxdException(ErrorCode.UNAVAILABLE, "the cluster has no leader");
        }
      };
      try (var second = FrontDoor.builder(failing).listen("127.0.0.1", 0).hostKey(dir.resolve("host2")).start()) {
        var ssh = new SshClient(second.port(), door.userKey);
        var r = ssh.ssh("list", "--json");
        assertThat(r.exit()).isEqualTo(ErrorCode.UNAVAILABLE.exitCode());
        assertThat(r.out()).isEqualTo("{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":\"the cluster has no leader\"}}\n");
      }
    }
  }

  @Test
  void theHostKeyIsEd25519AndSurvivesARestart() throws Exception {
    Path key = dir.resolve("keys/ssh_host_ed25519_key");
    var accounts = new FakeAccounts(new FakeOperations());
    String first;
    try (var door = FrontDoor.builder(accounts).listen("127.0.0.1", 0).hostKey(key).start()) {
      first = keyscan(door.port());
    }
    assertThat(first).contains("ssh-ed25519 ");
    assertThat(Files.exists(key)).isTrue();
    try (var door = FrontDoor.builder(accounts).listen("127.0.0.1", 0).hostKey(key).start()) {
      assertThat(keyscan(door.port())).isEqualTo(first);
    }
  }

  @Test
  void passwordsAndForwardingAreRefused() throws Exception {
    try (var door = new Door(dir)) {
      var r = SshClient.run(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(door.door.port()), "-o", "BatchMode=yes",
          "-o", "PubkeyAuthentication=no", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
          "boxd@127.0.0.1", "list"), new byte[0]);
      assertThat(r.exit()).isEqualTo(255);
      assertThat(r.err()).contains("Permission denied");

      r = SshClient.run(door.ssh.argv(List.of("-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:22"), "list"), new byte[0]);
      assertThat(r.exit()).as(r.toString()).isEqualTo(255);
      assertThat(r.err()).contains("remote port forwarding failed");
      assertThat(door.ssh.ssh("list").exit()).isZero();
    }
  }

  private static String keyscan(int port) {
    var r = SshClient.run(List.of("ssh-keyscan", "-p", Integer.toString(port), "-t", "ed25519", "127.0.0.1"), new byte[0]);
    String line = r.out().lines().filter(l -> !l.startsWith("#")).findFirst().orElseThrow(() -> new AssertionError(r.toString()));
    return line.substring(line.indexOf(' ') + 1); // without [127.0.0.1]:PORT
  }

}
