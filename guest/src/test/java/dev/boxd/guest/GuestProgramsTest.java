package dev.boxd.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two programs that run inside every guest, built as the image build does and driven by
 * their protocol harnesses on the host: the agent ({@code guest/agent/test/agent_test.py}, in a
 * sandbox of namespaces) and the in-VM command line ({@code guest/cli/test/cli_test.py}, against
 * a fake gateway). Their end-to-end tests with real VMs are in the worker and server modules.
 */
class GuestProgramsTest {
  /** Maven runs a module's tests in the module's directory: here, {@code guest}. */
  private static final Path GUEST = Path.of("").toAbsolutePath();

  @TempDir
  Path tmp;

  private static String run(List<String> command, long minutes) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).directory(GUEST.toFile()).redirectErrorStream(true).start();
    byte[] output;
    try (var out = process.getInputStream()) {
      output = out.readAllBytes();
    }
    boolean ended = process.waitFor(minutes, TimeUnit.MINUTES);
    String text = new String(output, StandardCharsets.UTF_8);
    assertThat(ended).as("%s did not end", command).isTrue();
    assertThat(process.exitValue()).as("%s:%n%s", command, text).isZero();
    return text;
  }

  @Test
  void theAgentPassesItsProtocolHarness() throws Exception {
    Path agent = tmp.resolve("boxd-agent");
    run(List.of("sh", "agent/build.sh", agent.toString()), 5);
    String report = run(List.of("python3", "agent/test/agent_test.py", "--agent", agent.toString()), 10);
    assertThat(report).contains("all tests passed");
  }

  @Test
  void theCommandLinePassesItsProtocolHarness() throws Exception {
    Path cli = tmp.resolve("boxd-cli");
    run(List.of("sh", "cli/build.sh", cli.toString()), 5);
    assertThat(Files.isExecutable(cli)).isTrue();
    run(List.of("python3", "cli/test/cli_test.py", "--cli", cli.toString()), 10);
  }
}
