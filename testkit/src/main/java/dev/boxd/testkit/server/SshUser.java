package dev.boxd.testkit.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A user with an SSH key of their own, talking to the front door with the real OpenSSH client. */
public final class SshUser {
  public final Path key;
  public final int port;

  public SshUser(Path dir, String name, int port) throws IOException, InterruptedException {
    this.key = dir.resolve(name);
    this.port = port;
    Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString())
        .redirectErrorStream(true).start();
    if (keygen.waitFor() != 0) {
      throw new IllegalStateException("ssh-keygen failed: " + new String(keygen.getInputStream().readAllBytes()));
    }
  }

  public Path publicKey() {
    return Path.of(key + ".pub");
  }

  public record Run(int exit, String out, String err) {}

  public List<String> command(String host, String... args) {
    return command(port, host, args);
  }

  /** ssh to another port (the VM SSH gateway's), with this user's key and nothing else. */
  public List<String> command(int toPort, String host, String... args) {
    List<String> argv = new ArrayList<>(List.of("ssh", "-i", key.toString(), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-p", Integer.toString(toPort), host));
    argv.addAll(List.of(args));
    return argv;
  }

  public Run run(String... args) throws IOException, InterruptedException {
    return run(new byte[0], args);
  }

  public Run run(byte[] stdin, String... args) throws IOException, InterruptedException {
    return run(new java.io.ByteArrayInputStream(stdin), OutputStreamSink.capture(), args);
  }

  /** Runs with stdin from {@code in} and stdout into {@code out} (for big transfers). */
  public Run run(InputStream in, OutputStreamSink out, String... args) throws IOException, InterruptedException {
    return run(command("127.0.0.1", args), in, out);
  }

  /** Runs any command line (ssh, scp, sftp) with stdin from {@code in} and stdout into {@code out}. */
  public static Run run(List<String> argv, InputStream in, OutputStreamSink out) throws IOException, InterruptedException {
    Process ssh = new ProcessBuilder(argv).start();
    var err = new ByteArrayOutputStream();
    Thread feeder = Thread.ofPlatform().daemon().start(() -> {
      try (OutputStream stdin = ssh.getOutputStream()) {
        in.transferTo(stdin);
      } catch (IOException ignored) {
        // ssh exited
      }
    });
    Thread errs = Thread.ofPlatform().daemon().start(() -> {
      try {
        ssh.getErrorStream().transferTo(err);
      } catch (IOException ignored) {
        // closed
      }
    });
    ssh.getInputStream().transferTo(out.stream());
    if (!ssh.waitFor(300, TimeUnit.SECONDS)) {
      ssh.destroyForcibly();
      throw new IllegalStateException(String.join(" ", argv) + " did not finish");
    }
    feeder.join();
    errs.join();
    return new Run(ssh.exitValue(), out.text(), err.toString(StandardCharsets.UTF_8));
  }

  /** Where stdout goes: captured as text, or streamed elsewhere (then {@link #text} is empty). */
  public record OutputStreamSink(OutputStream stream, ByteArrayOutputStream captured) {
    public static OutputStreamSink capture() {
      var buffer = new ByteArrayOutputStream();
      return new OutputStreamSink(buffer, buffer);
    }

    public static OutputStreamSink to(OutputStream stream) {
      return new OutputStreamSink(stream, null);
    }

    public String text() {
      return captured == null ? "" : captured.toString(StandardCharsets.UTF_8);
    }
  }

  public static void addKey(ServerProcess server, SshUser user, String name) throws IOException, InterruptedException {
    Process admin = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
        "-cp", System.getProperty("java.class.path"), ServerProcess.MAIN_CLASS, "admin", "--data", server.dataDir.toString(),
        "add-key", "--user", name, user.publicKey().toString()).redirectErrorStream(true).start();
    String out = new String(admin.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (admin.waitFor() != 0) {
      throw new IllegalStateException("admin add-key failed: " + out);
    }
  }

  public static String sha256(Path file) throws Exception {
    var digest = java.security.MessageDigest.getInstance("SHA-256");
    try (var in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      int n;
      while ((n = in.read(buffer)) > 0) {
        digest.update(buffer, 0, n);
      }
    }
    return java.util.HexFormat.of().formatHex(digest.digest());
  }
}
