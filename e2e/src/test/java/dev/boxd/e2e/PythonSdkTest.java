package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python SDK's own test suite (sdk/python/tests), its unit tests and tests/test_live.py, run
 * by pytest against a real server over TLS with an API key: create, exec, streaming exec, 10 MiB
 * each way, fork, pause and resume, proxies, delete, NOT_FOUND after it, and AsyncBoxd driving
 * five VMs at once. Every test must run: a skip (test_live skips without BOXD_API_URL) fails this.
 */
class PythonSdkTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();

  /** pytest -q's closing line when everything ran and passed, and nothing else: no skipped, failed, error, deselected. */
  static final Pattern ALL_PASSED = Pattern.compile("(?m)^=*\\s*(\\d+) passed in [0-9.]+s( \\([0-9:]+\\))?\\s*=*$");

  @TempDir
  Path dir;

  @Test
  void theSdksTestsPassAgainstARealServer() throws Exception {
    SshUser user = live.user("py-sdk");
    String apiKey = LiveServer.json(user.run("api-key", "create", "--json")).get("api_key").asText();
    assertThat(apiKey).startsWith("bxd_");
    Path ca = dir.resolve("ca.pem");
    Files.writeString(ca, live.server().caCertificate());
    PythonSdk.build();

    PythonSdk.Run pytest = PythonSdk.run(List.of(PythonSdk.PYTHON, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"),
        Map.of("BOXD_API_URL", "https://localhost:" + live.server().apiPort, "BOXD_API_KEY", apiKey, "BOXD_CA_CERT", ca.toString()),
        true, 900);

    assertThat(pytest.exit()).as("pytest's exit code (its output is above)").isZero();
    var closing = ALL_PASSED.matcher(pytest.output());
    assertThat(closing.find()).as("pytest must report only passed tests (no skipped, none deselected), got:\n%s", tail(pytest.output()))
        .isTrue();
    assertThat(Integer.parseInt(closing.group(1))).as("tests pytest ran").isPositive();
    // -rA lists every test by name: the live ones must be among the passed
    assertThat(pytest.output()).as("the live tests ran").contains("PASSED tests/test_live.py::test_async_client_runs_execs_in_five_machines_at_once")
        .doesNotContain("SKIPPED");
  }

  private static String tail(String output) {
    return output.length() <= 2000 ? output : output.substring(output.length() - 2000);
  }
}
