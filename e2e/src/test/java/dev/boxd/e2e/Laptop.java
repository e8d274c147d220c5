package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.TestPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A machine with only the CLI installed: a Unix user of its own (OpenSSH and Java read the home
 * directory from the password database, not $HOME, so a real user is what isolates ~/.ssh and
 * ~/.config) whose home holds nothing but what {@code tar -xzf boxd-cli.tar.gz -C ~/.local}
 * installed. Commands run as that user with a clean environment. Closing removes the user, its
 * home and any process it still has.
 */
final class Laptop implements AutoCloseable {
  final String user;
  final Path home;
  private final Path base;

  record Run(int exit, String out, String err, long millis) {}

  Laptop() throws IOException, InterruptedException {
    user = "boxdlap" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20, 1 << 24), 36);
    base = Files.createTempDirectory("boxd-laptop-");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    home = base.resolve("home");
    host("useradd", "--create-home", "--home-dir", home.toString(), "--shell", "/bin/bash", user);
    Path tarball = TestPaths.repositoryRoot().resolve("cli/target/boxd-cli.tar.gz");
    assertThat(tarball).as("the CLI package (mvn package -pl cli)").exists();
    Path copy = base.resolve("boxd-cli.tar.gz");
    Files.copy(tarball, copy);
    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
    // The install command of the README, as the user.
    Run install = sh("mkdir -p ~/.local && tar -xzf " + copy + " -C ~/.local");
    assertThat(install.exit()).as("install: %s", install.err()).isZero();
  }

  /** A file the user can read (a CA certificate, a directory to copy), under the laptop's own directory. */
  Path shared(String name, String text) throws IOException {
    Path file = base.resolve(name);
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    return file;
  }

  /** {@code boxd ARGS} as the user. */
  Run boxd(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(home.resolve(".local/bin/boxd").toString()));
    command.addAll(List.of(args));
    return run(command, null);
  }

  /** A shell command line as the user (ssh, rsync, cat of its files). */
  Run sh(String script) throws IOException, InterruptedException {
    return run(List.of("bash", "-c", script), null);
  }

  /** Starts {@code boxd ARGS} as the user and leaves it running (a login that waits to be linked). */
  Process start(String... args) throws IOException {
    List<String> command = new ArrayList<>(asUser());
    command.add(home.resolve(".local/bin/boxd").toString());
    command.addAll(List.of(args));
    return new ProcessBuilder(command).start();
  }

  Run run(List<String> command, byte[] stdin) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>(asUser());
    full.addAll(command);
    long started = System.nanoTime();
    Process p = new ProcessBuilder(full).start();
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    Thread o = Thread.ofPlatform().daemon().start(() -> copy(p.getInputStream(), out));
    Thread e = Thread.ofPlatform().daemon().start(() -> copy(p.getErrorStream(), err));
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    o.join();
    e.join();
    return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
        (System.nanoTime() - started) / 1_000_000);
  }

  private List<String> asUser() {
    return List.of("runuser", "-u", user, "--", "env", "-i", "HOME=" + home, "USER=" + user, "LOGNAME=" + user,
        "PATH=" + home.resolve(".local/bin") + ":/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8");
  }

  private static void copy(java.io.InputStream in, java.io.OutputStream out) {
    try {
      in.transferTo(out);
    } catch (IOException e) {
      // the process is gone
    }
  }

  private static void host(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }

  @Override
  public void close() throws Exception {
    new ProcessBuilder("pkill", "-KILL", "-u", user).start().waitFor();
    new ProcessBuilder("userdel", "--remove", user).redirectErrorStream(true).start().waitFor();
    try (var walk = Files.walk(base)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
