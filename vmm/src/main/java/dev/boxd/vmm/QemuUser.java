package dev.boxd.vmm;

import dev.boxd.core.BoxdException;
import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The unprivileged system user every QEMU runs as ({@code -runas}): QEMU opens its files as root
 * (taps, the RAM file, disks, sockets), then gives up root before the guest runs. All QEMUs share
 * it; one QEMU still cannot reach another's memory, because a process that changed its ids is not
 * dumpable ({@code /proc/PID/mem} and ptrace need root then), and it can open none of boxd's files
 * (the data directory is not searchable for it; later files are handed over, see
 * {@code FdMonitor}). {@code scripts/install-deps.sh} creates it; a server that finds it missing
 * creates it the same way.
 */
public final class QemuUser {
  private static final Logger log = LoggerFactory.getLogger(QemuUser.class);
  public static final String NAME = "boxd-qemu";

  private QemuUser() {}

  /** The user's uid and gid, if it exists. */
  public record Ids(int uid, int gid) {}

  public static Optional<Ids> lookup() {
    var found = HostCommand.tryRun("getent", "passwd", NAME);
    if (!found.ok()) {
      return Optional.empty();
    }
    String[] fields = found.stdout().strip().split(":");
    return Optional.of(new Ids(Integer.parseInt(fields[2]), Integer.parseInt(fields[3])));
  }

  /**
   * The user QEMU is to run as: created first if missing. Empty when this process is not root
   * (then QEMU cannot change user either, and runs as this process's user).
   */
  public static Optional<String> ensure() {
    if (!isRoot()) {
      log.warn("not running as root: QEMU runs as this user, not as {}", NAME);
      return Optional.empty();
    }
    if (lookup().isEmpty()) {
      var made = HostCommand.tryRun("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
          "--shell", "/usr/sbin/nologin", "--comment", "boxd QEMU processes", NAME);
      if (!made.ok() && lookup().isEmpty()) {
        throw BoxdException.precondition("QEMU runs as the system user " + NAME + ", which does not exist and could not be created ("
            + "useradd exited " + made.exitCode() + ": " + made.stderr().strip() + "); create it with scripts/install-deps.sh or: "
            + "useradd --system --user-group --no-create-home --shell /usr/sbin/nologin " + NAME);
      }
      log.info("created the system user {} that QEMU runs as", NAME);
    }
    return Optional.of(NAME);
  }

  static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException e) {
      // not Linux: not root for this purpose
    }
    return false;
  }
}
