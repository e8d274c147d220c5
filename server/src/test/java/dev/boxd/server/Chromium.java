package dev.boxd.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Headless Chromium with a profile of its own that trusts one CA (the server's, from
 * {@code boxd ca}): HOME holds the NSS database Chromium trusts on Linux, as in EdgeHttpsTest.
 * The profile, and with it the cookies, lasts as long as this object.
 */
final class Chromium implements AutoCloseable {
  private final Path home;

  private Chromium(Path home) {
    this.home = home;
  }

  static Chromium trusting(String caPem) throws Exception {
    Path home = Files.createTempDirectory("boxd-chromium-");
    Path ca = Files.writeString(home.resolve("ca.pem"), caPem);
    Path nssdb = Files.createDirectories(home.resolve(".pki/nssdb"));
    run(List.of("certutil", "-d", "sql:" + nssdb, "-N", "--empty-password"));
    run(List.of("certutil", "-d", "sql:" + nssdb, "-A", "-t", "C,,", "-n", "boxd", "-i", ca.toString()));
    return new Chromium(home);
  }

  /** Opens {@code url}, follows where it leads, and returns the DOM of the page it ends on. */
  String dumpDom(String url) throws Exception {
    return run(List.of("env", "HOME=" + home, "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--user-data-dir=" + home.resolve("profile"), "--virtual-time-budget=10000", "--dump-dom", url));
  }

  private static String run(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).start();
    var err = new CompletableFuture<String>();
    Thread.ofPlatform().daemon().start(() -> {
      try {
        err.complete(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        err.complete(e.toString());
      }
    });
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish");
    }
    if (process.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue() + ": " + err.get());
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    try (Stream<Path> walk = Files.walk(home)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
