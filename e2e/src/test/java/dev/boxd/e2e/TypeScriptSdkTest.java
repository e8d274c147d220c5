package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.TestPaths;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TypeScript SDK (sdk/typescript) against the shared real server: builds it and runs its
 * tests with BOXD_API_URL, BOXD_API_KEY and BOXD_CA_CERT set, so its live scenario
 * (test/live.test.mjs) runs beside its unit tests. Node prints as it goes, so a hang shows where.
 */
class TypeScriptSdkTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();

  @TempDir
  Path dir;

  @Test
  void theSdkDrivesRealVms() throws Exception {
    Path sdk = TestPaths.repositoryRoot().resolve("sdk/typescript");
    assertThat(sdk.resolve("node_modules/@grpc/grpc-js"))
        .as("the SDK's npm packages are missing: run scripts/install-deps.sh (it runs npm ci in sdk/typescript)").exists();

    SshUser user = live.user("ts-sdk");
    SshUser.Run made = user.run("api-key", "create", "--json");
    assertThat(made.exit()).as("api-key create: " + made.err()).isZero();
    String apiKey = LiveServer.JSON.readTree(made.out()).path("api_key").asText();
    assertThat(apiKey).as("api-key create --json: " + made.out()).startsWith("bxd_");
    Path ca = dir.resolve("ca.pem");
    Files.writeString(ca, live.server().caCertificate());

    run(sdk, Map.of(), "npm", "run", "build");
    String output = run(sdk, Map.of(
        "BOXD_API_URL", "https://localhost:" + live.server().apiPort,
        "BOXD_API_KEY", apiKey,
        "BOXD_CA_CERT", ca.toString()), "node", "--test", "--test-timeout=300000", "--test-reporter=tap", "test/");

    // Ran, not skipped: a missing variable would turn the scenario into "ok N - live scenario # SKIP".
    assertThat(output).containsPattern("(?m)^ok \\d+ - live scenario$").contains("# skipped 0").contains("# fail 0");
  }

  /** Runs a command in {@code dir}, echoing its output as it comes; fails unless it exits 0. */
  private static String run(Path dir, Map<String, String> env, String... command) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true);
    // Only what this test sets: a developer's own credentials must not leak into the run.
    builder.environment().keySet().removeIf(name -> name.startsWith("BOXD_"));
    builder.environment().putAll(env);
    Process process = builder.start();
    StringBuilder output = new StringBuilder();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = lines.readLine()) != null; ) {
        System.out.println("[" + command[0] + "] " + line);
        output.append(line).append('\n');
      }
    }
    boolean ended = process.waitFor(1, TimeUnit.MINUTES);
    if (!ended) {
      process.destroyForcibly();
    }
    assertThat(ended && process.exitValue() == 0).as(String.join(" ", command) + " failed:\n" + output).isTrue();
    return output.toString();
  }
}
