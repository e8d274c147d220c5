package dev.boxd.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real OpenSSH client against a front door: keys made with ssh-keygen in a temp dir, no
 * config file, no known hosts, no agent, no prompts.
 */
final class SshClient {
  private final int port;
  private final Path key;

  SshClient(int port, Path key) {
    this.port = port;
    this.key = key;
  }

  /** A new ed25519 key pair {@code dir/name} and {@code dir/name.pub}. */
  static Path keygen(Path dir, String name) {
    Path file = dir.resolve(name);
    Result r = run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file.toString()), new byte[0]);
    if (r.exit() != 0) {
      throw new IllegalStateException("ssh-keygen failed: " + r.err());
    }
    return file;
  }

  /** The key's fingerprint as ssh-keygen prints it ({@code SHA256:...}). */
  static String fingerprint(Path key) {
    Result r = run(List.of("ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"), new byte[0]);
    return r.out().split(" ")[1];
  }

  /** ssh options; {@code extra} go before the host (e.g. -t, -T). */
  List<String> argv(List<String> extra, String... remote) {
    var argv = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port), "-i", key.toString(),
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"));
    argv.addAll(extra);
    argv.add("boxd@127.0.0.1");
    argv.addAll(List.of(remote));
    return argv;
  }

  /** Runs {@code ssh HOST REMOTE...} with empty stdin. */
  Result ssh(String... remote) {
    return run(argv(List.of(), remote), new byte[0]);
  }

  Result sshWithInput(byte[] stdin, String... remote) {
    return run(argv(List.of(), remote), stdin);
  }

  Process start(List<String> extra, String... remote) {
    try {
      return new ProcessBuilder(argv(extra, remote)).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  record Result(int exit, byte[] stdout, String err) {
    String out() {
      return new String(stdout, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "exit " + exit + "\nstdout: " + out() + "\nstderr: " + err;
    }
  }

  static Result run(List<String> argv, byte[] stdin) {
    try {
      Process p = new ProcessBuilder(argv).start();
      var out = new ByteArrayOutputStream();
      var err = new ByteArrayOutputStream();
      Thread outReader = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
      Thread errReader = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
      try (OutputStream in = p.getOutputStream()) {
        in.write(stdin);
      } catch (IOException e) {
        // the command did not read all of its input
      }
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + argv);
      }
      outReader.join(Duration.ofSeconds(10));
      errReader.join(Duration.ofSeconds(10));
      return new Result(p.exitValue(), out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void copy(InputStream in, OutputStream out) {
    try {
      in.transferTo(out);
    } catch (IOException e) {
      // process ended
    }
  }

  static String sha256(Path file) throws IOException {
    var sha = FakeOperations.sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) != -1) {
        sha.update(buf, 0, n);
      }
    }
    return java.util.HexFormat.of().formatHex(sha.digest());
  }
}
