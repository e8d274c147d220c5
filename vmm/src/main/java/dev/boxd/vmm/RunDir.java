package dev.boxd.vmm;

import dev.boxd.core.BoxdException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The files through which a running QEMU is reached, and re-attached after a supervisor restart:
 * QMP and agent sockets, serial log, QEMU's own log, pid file and the argv used.
 */
public record RunDir(Path dir) {
  /** Unix socket paths are limited to 107 bytes plus the terminating NUL. */
  static final int MAX_SOCKET_PATH = 107;
  private static final String LONGEST_SOCKET_NAME = "qmp-cmd.sock";

  public RunDir {
    dir = dir.toAbsolutePath();
    if (dir.resolve(LONGEST_SOCKET_NAME).toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
      throw BoxdException.invalid("run directory path too long for Unix sockets (limit " + MAX_SOCKET_PATH + " bytes): " + dir);
    }
  }

  /** QMP for events (and, for a QEMU started without {@link #qmpCommandSocket()}, commands too). */
  public Path qmpSocket() {
    return dir.resolve("qmp.sock");
  }

  /**
   * A second QMP monitor that only carries commands, each read back by its caller (see
   * {@code QmpClient}); absent for a QEMU started before it existed.
   */
  public Path qmpCommandSocket() {
    return dir.resolve(LONGEST_SOCKET_NAME);
  }

  /** A third QMP monitor, for commands that hand QEMU an open file (see {@code FdMonitor}); absent for older QEMUs. */
  public Path qmpFdSocket() {
    return dir.resolve("qmp-fd.sock");
  }

  public Path agentSocket() {
    return dir.resolve("agent.sock");
  }

  public Path serialLog() {
    return dir.resolve("serial.log");
  }

  public Path qemuLog() {
    return dir.resolve("qemu.log");
  }

  public Path pidFile() {
    return dir.resolve("qemu.pid");
  }

  public Path argvFile() {
    return dir.resolve("argv");
  }

  public void create() {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Optional<Long> pid() {
    try {
      return Files.isRegularFile(pidFile()) ? Optional.of(Long.parseLong(Files.readString(pidFile()).strip())) : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Last lines of the serial console, for error messages about a guest that failed. */
  public String serialTail(int maxBytes) {
    return tail(serialLog(), maxBytes);
  }

  public String qemuLogTail(int maxBytes) {
    return tail(qemuLog(), maxBytes);
  }

  private static String tail(Path file, int maxBytes) {
    try {
      if (!Files.exists(file)) {
        return "";
      }
      byte[] all = Files.readAllBytes(file);
      int from = Math.max(0, all.length - maxBytes);
      return new String(all, from, all.length - from, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
