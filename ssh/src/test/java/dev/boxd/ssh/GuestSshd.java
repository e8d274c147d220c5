package dev.boxd.ssh;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd standing in for a VM's: its own host key and config in a temp dir, keys
 * only, the platform key authorized for the current user, sftp built in, listening on a free
 * port of 127.0.0.1. Needs /usr/sbin/sshd and root (for /run/sshd and to log in as root).
 */
final class GuestSshd implements AutoCloseable {
  final Path dir;
  final int port;
  private Process process;

  GuestSshd(Path dir, String authorizedKey) throws IOException {
    this.dir = dir;
    this.port = freePort();
    SshClient.keygen(dir, "host_key");
    Files.writeString(dir.resolve("authorized_keys"), authorizedKey + "\n");
    Files.writeString(dir.resolve("sshd_config"), String.join("\n",
        "Port " + port,
        "ListenAddress 127.0.0.1",
        "HostKey " + dir.resolve("host_key"),
        "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PidFile none",
        "PrintMotd no",
        "PrintLastLog no",
        "AcceptEnv BOXD_*",
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
        ""));
    Files.createDirectories(Path.of("/run/sshd"));
  }

  static boolean available() {
    return Files.isExecutable(Path.of("/usr/sbin/sshd")) && "root".equals(System.getProperty("user.name"));
  }

  static int freePort() throws IOException {
    return dev.boxd.testkit.FreePorts.tcp();
  }

  Path hostKeyPub() {
    return dir.resolve("host_key.pub");
  }

  /** Starts sshd and returns once it accepts connections. */
  GuestSshd start() throws IOException, InterruptedException {
    process = new ProcessBuilder(List.of("/usr/sbin/sshd", "-D", "-e", "-f", dir.resolve("sshd_config").toString()))
        .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      try (var probe = new Socket()) {
        probe.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return this;
      } catch (IOException e) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("sshd did not start: " + Files.readString(dir.resolve("sshd.log")), e);
        }
        Thread.sleep(20);
      }
    }
  }

  /** Sessions the sshd serves now: its child processes. */
  long sessions() {
    return process == null ? 0 : process.children().count();
  }

  /** SIGKILL to sshd and every session it serves: a VM that vanished. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }
}
