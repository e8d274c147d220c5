package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.TestPaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The Python SDK's checkout (sdk/python) as the e2e tests use it: Debian's Python, the generated
 * code built by its build.sh, pytest run with an environment of the test's choosing.
 */
final class PythonSdk {
  /** Debian's Python 3.11, which has python3-grpcio and python3-protobuf (a pyenv or venv python on PATH may not). */
  static final String PYTHON = "/usr/bin/python3";
  static final Path DIR = TestPaths.repositoryRoot().resolve("sdk/python");

  private PythonSdk() {}

  record Run(int exit, String output) {}

  /** Checks the Debian packages are there, then generates boxd/_proto; fails with what to install. */
  static void build() throws IOException, InterruptedException {
    Run probe = run(List.of(PYTHON, "-c", "import grpc, google.protobuf, pytest"), Map.of(), false, 60);
    assertThat(probe.exit()).as("Debian's Python packages for the SDK and its tests are missing: apt-get install python3-grpcio"
        + " python3-protobuf python3-pytest (scripts/install-deps.sh)\n%s", probe.output()).isZero();
    Run build = run(List.of(DIR.resolve("build.sh").toString()), Map.of(), false, 120);
    assertThat(build.exit()).as("sdk/python/build.sh failed:\n%s", build.output()).isZero();
  }

  /** Runs {@code argv} in sdk/python with {@code env} added (any BOXD_* of this JVM's environment removed), output merged. */
  static Run run(List<String> argv, Map<String, String> env, boolean echo, long timeoutSecs) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(argv).directory(DIR.toFile()).redirectErrorStream(true);
    builder.environment().keySet().removeIf(k -> k.startsWith("BOXD_"));
    builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    builder.environment().putAll(env);
    Process process = builder.start();
    var captured = new ByteArrayOutputStream();
    Thread reader = Thread.ofPlatform().daemon().start(() -> copy(process.getInputStream(), captured, echo ? System.out : null));
    if (!process.waitFor(timeoutSecs, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor();
      reader.join();
      throw new AssertionError(String.join(" ", argv) + " did not finish in " + timeoutSecs + " s:\n" + captured.toString(StandardCharsets.UTF_8));
    }
    reader.join();
    return new Run(process.exitValue(), captured.toString(StandardCharsets.UTF_8));
  }

  private static void copy(InputStream in, ByteArrayOutputStream captured, OutputStream echo) {
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) > 0; ) {
        captured.write(buffer, 0, n);
        if (echo != null) {
          echo.write(buffer, 0, n);
          echo.flush();
        }
      }
    } catch (IOException ignored) {
      // the process ended
    }
  }
}
