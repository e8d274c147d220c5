package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every verb through {@code ssh HOST VERB ...}: output, JSON, exit codes, stdin and stderr. */
class FrontDoorVerbsTest {
  @TempDir
  static Path dir;
  static Door door;
  static final int INVALID = ErrorCode.INVALID_ARGUMENT.exitCode();

  @BeforeAll
  static void start() {
    door = new Door(dir);
  }

  @AfterAll
  static void stop() {
    door.close();
  }

  static JsonNode json(SshClient.Result r) {
    try {
      return new ObjectMapper().readTree(r.out());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + r, e);
    }
  }

  @Test
  void newListInfo() {
    var r = door.ssh.ssh("new", "--name=web", "--vcpu", "2", "--memory=512M", "--json");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(json(r).get("name").asText()).isEqualTo("web");
    assertThat(door.ops.calls).contains("create NewRequest[name=Optional[web], vcpus=Optional[2], memoryMib=Optional[512], autoSuspendSecs=Optional.empty, fromSnapshot=Optional.empty, image=Optional.empty, isolated=false]");

    r = door.ssh.ssh("list");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).startsWith("NAME  STATUS   IP         IMAGE\n").contains("web   running  10.77.0.2  debian-12\n");
    var list = json(door.ssh.ssh("ls", "--json"));
    assertThat(list.isArray()).isTrue();
    assertThat(list.findValuesAsText("name")).contains("app", "web");

    r = door.ssh.ssh("info", "web", "--json");
    assertThat(json(r).get("vm_id").asText()).isEqualTo("vm-web");
    r = door.ssh.ssh("info", "nope");
    assertThat(r.exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(r.err()).isEqualTo("error: VM nope not found\n");
    assertThat(r.out()).isEmpty();
    assertThat(json(door.ssh.ssh("machine", "list", "--json")).findValuesAsText("sharing")).containsOnly("private");
    assertThat(door.ssh.ssh("machine", "get", "nope").err()).isEqualTo("error: VM 'nope' not found\n");
    r = door.ssh.ssh("info", "nope", "--json");
    assertThat(json(r).at("/error/code").asText()).isEqualTo("NOT_FOUND");
    assertThat(r.err()).isEmpty();
  }

  @Test
  void execExitCodesStreamsAndJson() {
    assertThat(door.ssh.ssh("exec", "app", "--", "exit 7").exit()).isEqualTo(7);
    assertThat(door.ops.lastExec.command()).isEqualTo("exit 7");
    // After --, the command reaches the VM's shell as sent, quotes and newlines included, as with ssh to a host.
    door.ssh.ssh("exec", "app", "--", "'exit 7'\necho \"$HOME\"");
    assertThat(door.ops.lastExec.command()).isEqualTo("'exit 7'\necho \"$HOME\"");
    door.ssh.ssh("machine", "exec", "app", "--", "'exit 8'\necho \"$HOME\"");
    assertThat(door.ops.lastExec.command()).isEqualTo("'exit 8'\necho \"$HOME\"");
    assertThat(door.ssh.ssh("exec app exit 0").exit()).isZero();
    assertThat(door.ssh.ssh("exec", "app", "exit", "42").exit()).isEqualTo(42);

    var r = door.ssh.ssh("exec", "app", "both");
    assertThat(r.exit()).isEqualTo(3);
    assertThat(r.out()).isEqualTo("to stdout\n");
    assertThat(r.err()).isEqualTo("to stderr\n");

    r = door.ssh.ssh("exec", "--json", "app", "--", "both");
    assertThat(r.exit()).isEqualTo(3);
    var json = json(r);
    assertThat(json.get("stdout").asText()).isEqualTo("to stdout\n");
    assertThat(json.get("stderr").asText()).isEqualTo("to stderr\n");
    assertThat(json.get("output").asText()).isEqualTo("to stdout\nto stderr\n");
    assertThat(json.get("exit_code").asInt()).isEqualTo(3);

    r = door.ssh.sshWithInput("piped in\nand more".getBytes(StandardCharsets.UTF_8), "exec", "app", "cat");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).isEqualTo("piped in\nand more");

    door.ssh.ssh("exec", "-e", "A=1", "--env", "B='x y'", "--timeout=5", "app", "echo", "\"a  b\"", "'$HOME'");
    assertThat(door.ops.lastExec.env()).isEqualTo(Map.of("A", "1", "B", "x y"));
    assertThat(door.ops.lastExec.timeout()).hasValueSatisfying(t -> assertThat(t.toSeconds()).isEqualTo(5));
    assertThat(door.ops.lastExec.command()).isEqualTo("echo 'a  b' $HOME");
  }

  @Test
  void lifecycleVerbs() {
    door.ops.vms.put("life", FakeOperations.vm("life", "running"));
    var pause = json(door.ssh.ssh("pause", "life", "--json"));
    assertThat(pause.get("suspend_us").asLong()).isEqualTo(640);
    assertThat(json(door.ssh.ssh("resume", "life", "--json")).get("resume_us").asLong()).isEqualTo(85);
    assertThat(door.ssh.ssh("stop", "life").out()).isEqualTo("stopped life: stopped\n");
    assertThat(json(door.ssh.ssh("start", "life", "--json")).get("status").asText()).isEqualTo("running");
    assertThat(door.ssh.ssh("reboot", "life").exit()).isZero();
    var r = door.ssh.ssh("destroy", "life");
    assertThat(r.exit()).as("no terminal: no question").isZero();
    assertThat(r.out()).isEqualTo("destroyed life\n");
    assertThat(door.ssh.ssh("rm", "-y", "life").exit()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(door.ops.calls).containsSubsequence("pause life", "resume life", "stop life", "start life", "reboot life",
        "destroy life");
  }

  @Test
  void whoamiVersionHelp() {
    assertThat(json(door.ssh.ssh("whoami", "--json")).get("user_id").asText()).isEqualTo("user-1");
    assertThat(door.ssh.ssh("version").out()).startsWith("boxd ");
    var help = door.ssh.ssh("help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("exec").contains("connect, ssh");
    assertThat(door.ssh.ssh("help", "cp").out()).startsWith("Usage: cp [FLAGS] SRC DST\n");
    assertThat(door.ssh.ssh("exec", "--help").out()).startsWith("Usage: exec");
  }

  @Test
  void connectWithoutATerminalIsRefused() {
    var r = door.ssh.ssh("connect", "app");
    assertThat(r.exit()).isEqualTo(ErrorCode.FAILED_PRECONDITION.exitCode());
    assertThat(r.err()).contains("connect needs a terminal").hasLineCount(1);
  }

  @Test
  void badInputGetsOneLineAndTheErrorCode() {
    var r = door.ssh.ssh("frobnicate");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).startsWith("error: unknown verb \"frobnicate\": expected one of new, list").hasLineCount(1);
    assertThat(r.out()).isEmpty();

    r = door.ssh.ssh("list", "--bogus");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).isEqualTo("error: unknown flag \"--bogus\" for list: expected --json (see: help list)\n");

    r = door.ssh.ssh("list", "--bogus", "--json");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(json(r).at("/error/code").asText()).isEqualTo("INVALID_ARGUMENT");

    r = door.ssh.ssh("info", "Not_A_Name");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).startsWith("error: invalid VM name \"Not_A_Name\": expected").hasLineCount(1);

    r = door.ssh.ssh("new", "--name=UPPER", "--json");
    assertThat(json(r).at("/error/message").asText()).contains("\"UPPER\"");

    r = door.ssh.ssh("exec", "app", "--", "'unterminated");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).contains("unterminated ' quote");

    // A line that does not split fails before any verb runs, in the shape the verb's --json asks
    // for; a --json after -- belongs to the VM's command and asks for nothing.
    r = door.ssh.ssh("list", "--json", "'unterminated");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(json(r).at("/error/message").asText()).contains("unterminated ' quote");
    r = door.ssh.ssh("exec", "app", "--", "echo", "--json", "'unterminated");
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).contains("unterminated ' quote");
  }

  @Test
  void hugeArgumentsAndBinaryGarbage() {
    String huge = "x".repeat(100 * 1024);
    for (String[] argv : new String[][] {{huge}, {"info", huge}, {"new", "--name=" + huge}, {"exec", huge, "ls"}}) {
      var r = door.ssh.ssh(argv);
      assertThat(r.exit()).as(argv[0].length() > 20 ? "huge verb" : argv[0]).isEqualTo(INVALID);
      assertThat(r.err()).startsWith("error: ").hasLineCount(1);
      assertThat(r.err().length()).isLessThan(400);
    }
    // Invalid UTF-8, terminal escapes, C1 controls: the error names the value with its controls escaped.
    byte[] garbage = {(byte) 0xff, (byte) 0xfe, 0x1b, '[', '2', 'J', 0x07, (byte) 0xc2, (byte) 0x9b, '3', '1', 'm', 0x01};
    String arg = new String(garbage, StandardCharsets.ISO_8859_1);
    var r = SshClient.run(door.ssh.argv(java.util.List.of(), "info", arg), new byte[0]);
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).startsWith("error: invalid VM name").hasLineCount(1);
    assertThat(r.err().substring(0, r.err().length() - 1).chars()).noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f));

    r = SshClient.run(door.ssh.argv(java.util.List.of(), arg), new byte[0]);
    assertThat(r.exit()).isEqualTo(INVALID);
    assertThat(r.err()).startsWith("error: unknown verb").hasLineCount(1);
    assertThat(door.ssh.ssh("list").exit()).as("the server is fine").isZero();
  }
}
