package dev.boxd.ssh;

import dev.boxd.testkit.PtyClient;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.verbs.Verbs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The boxd> prompt and terminals: through a real pseudo-terminal on the client, and without one. */
class FrontDoorPromptTest {
  @TempDir
  static Path dir;
  static Door door;

  @BeforeAll
  static void start() {
    door = new Door(dir);
  }

  @AfterAll
  static void stop() {
    door.close();
  }

  private static PtyClient terminal(int rows, int cols, String... remote) {
    return PtyClient.start(rows, cols, door.ssh.argv(List.of("-tt"), remote));
  }

  @Test
  void promptEchoesEditsAndRunsVerbs() {
    try (var t = terminal(24, 80)) {
      t.expect("Type help for the verbs");
      t.expect("boxd> ");
      t.send("help\r");
      assertThat(t.expect("boxd> ")).contains("help\r\n").contains("list, ls").contains("connect, ssh").contains("\r\n");

      t.send("lisx\u007ft\r"); // a typo, backspace, fixed
      String out = t.expect("boxd> ");
      assertThat(out).contains("lisx\b \bt\r\n").contains("NAME  STATUS").contains("app   running");

      t.send("destroy\u0003"); // Ctrl-C drops the line
      assertThat(t.expect("boxd> ")).contains("destroy^C\r\n");
      assertThat(door.ops.calls).doesNotContain("destroy app");

      t.send("info ghost\r");
      assertThat(t.expect("boxd> ")).contains("error: VM ghost not found\r\n");

      t.send("\u001b[Ahelp exec\r"); // an arrow key is swallowed whole
      assertThat(t.expect("boxd> ")).contains("Usage: exec [FLAGS] NAME");

      t.send("exit\r");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void ctrlDOnAnEmptyLineLeaves() {
    try (var t = terminal(24, 80)) {
      t.expect("boxd> ");
      t.send("\u0004");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void ctrlCInterruptsARunningVerbAndTheSessionGoesOn() {
    try (var t = terminal(24, 80)) {
      t.expect("boxd> ");
      door.ops.events.clear();
      t.send("exec app sleep\r");
      awaitEvent("sleeping");
      t.send("\u0003");
      awaitEvent("exec interrupted");
      t.expect("boxd> ");
      t.send("exec app echo still here\r");
      assertThat(t.expect("boxd> ")).contains("still here\r\n");
      t.send("exit\r");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void ctrlCInAnExecWithATerminalExits130() {
    try (var t = terminal(24, 80, "exec", "app", "sleep")) {
      door.ops.events.clear();
      awaitEvent("sleeping");
      t.send("\u0003");
      assertThat(t.waitFor()).isEqualTo(Verbs.INTERRUPTED);
    }
  }

  @Test
  void cookedStdinForACommandOnATerminal() {
    try (var t = terminal(24, 80, "exec", "app", "cat")) {
      t.send("hello\r");
      assertThat(t.expect("hello\r\nhello\r\n")).isNotEmpty(); // the echo, then cat's copy
      t.send("\u0004");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void connectGetsTheTerminalAndItsWindowChanges() {
    try (var t = terminal(40, 120, "connect", "app")) {
      t.expect("tty xterm");
      assertThat(t.expect("\r\n")).isEqualTo(" 120x40\r\n");
      assertThat(door.ops.lastExec.command()).isEqualTo("exec bash -l");
      t.send("ab\r");
      t.expect("ab\r\n"); // raw: the remote side echoes, not the front door
      t.resize(50, 100);
      t.expect("resize 100x50\r\n");
      t.send("\u0004");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void connectFromThePromptSeesTheCurrentSize() {
    try (var t = terminal(24, 80)) {
      t.expect("boxd> ");
      t.resize(30, 90);
      // ssh sends the window change when its main loop next turns; keys typed at once may overtake it.
      sleep(Duration.ofMillis(500));
      t.send("connect app\r");
      t.expect("tty xterm 90x30\r\n");
      t.send("\u0004");
      t.expect("boxd> ");
      t.send("exit\r");
      assertThat(t.waitFor()).isZero();
    }
  }

  @Test
  void destroyAsksOnATerminal() {
    door.ops.vms.put("doomed", FakeOperations.vm("doomed", "running"));
    try (var t = terminal(24, 80, "destroy", "doomed")) {
      t.expect("Destroy VM \"doomed\"? [y/N] ");
      t.send("y\r");
      t.expect("destroyed doomed\r\n");
      assertThat(t.waitFor()).isZero();
    }
    door.ops.vms.put("kept", FakeOperations.vm("kept", "running"));
    try (var t = terminal(24, 80, "rm", "kept")) {
      t.expect("[y/N] ");
      t.send("\r");
      t.expect("not destroyed: kept");
      assertThat(t.waitFor()).isEqualTo(1);
    }
    assertThat(door.ops.vms).containsKey("kept").doesNotContainKey("doomed");
  }

  @Test
  void promptWithoutATerminalReadsLines() {
    var r = SshClient.run(door.ssh.argv(List.of("-T")), "list\n\nbogus\nexit\nlist\n".getBytes(StandardCharsets.UTF_8));
    assertThat(r.exit()).isZero();
    assertThat(r.out()).startsWith(Prompt.banner()).contains("boxd> NAME  STATUS").contains("app   running");
    assertThat(r.out().split("NAME  STATUS", -1)).as("nothing after exit runs").hasSize(2);
    assertThat(r.err()).isEqualTo("error: unknown verb \"bogus\": expected one of " + String.join(", ", Verbs.names())
        + " (see: help)\n");

    r = door.ssh.ssh("");
    assertThat(r.exit()).as("an empty command is a shell request").isZero();
    assertThat(r.out()).contains("boxd> ");
  }

  @Test
  void overlongPromptLinesAreRefusedWholeAndThePromptGoesOn() {
    String overlong = "exec app echo " + "x".repeat(70 * 1024) + "\n";
    var input = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      input.append(overlong);
    }
    input.append("exec app echo short\nexit\n");
    door.ops.calls.clear();
    var r = SshClient.run(door.ssh.argv(List.of("-T")), input.toString().getBytes(StandardCharsets.UTF_8));
    assertThat(r.exit()).isZero();
    String error = "error: line is longer than the prompt's limit of 65536 bytes; nothing was run. Shorten the command"
        + " (copy long input in with cp)\n";
    assertThat(r.err()).isEqualTo(error.repeat(100));
    assertThat(door.ops.calls).as("nothing of an overlong line ran").containsExactly("exec app echo short");
  }

  @Test
  void anOverlongLineOnATerminalIsRefusedWhole() {
    try (var t = terminal(24, 80)) {
      t.expect("boxd> ");
      door.ops.calls.clear();
      t.send("exec app echo " + "y".repeat(LineDiscipline.MAX_LINE) + "\r");
      assertThat(t.expect("boxd> ")).contains("error: line is longer than the prompt's limit of 4096 bytes; nothing was run");
      t.send("exec app echo fits\r");
      assertThat(t.expect("boxd> ")).contains("fits\r\n");
      assertThat(door.ops.calls).containsExactly("exec app echo fits");
      t.send("exit\r");
      assertThat(t.waitFor()).isZero();
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void awaitEvent(String event) {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        String e = door.ops.events.poll(100, TimeUnit.MILLISECONDS);
        if (event.equals(e)) {
          return;
        }
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new AssertionError("no event " + event);
  }
}
