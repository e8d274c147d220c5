package dev.boxd.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.qmp.FdMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files a running QEMU is given after start: opened here and handed over on its
 * {@link RunDir#qmpFdSocket()} monitor, because a confined QEMU can open none of them itself
 * (its user cannot reach the data directory, and it may not start {@code cat} for an
 * {@code exec:} migration). Migration streams go as {@code getfd} + {@code fd:}; files that QMP
 * commands take by name go into an fd set ({@code add-fd}) and are named {@code /dev/fdset/N}.
 *
 * <p>A disk layer's set holds a read-write and a read-only descriptor: QEMU reopens a layer
 * read-only when it becomes a backing file. Each descriptor carries its file's path as its
 * {@code opaque} text, which is how {@link #pathOf} finds the real file behind a
 * {@code /dev/fdset/N} name, also for a supervisor that re-attached later. Once a layer is frozen
 * its read-write descriptor is given back: while any descriptor of that open file remains, so does
 * QEMU's write lock on it.
 *
 * <p>A QEMU without that monitor (started by an older boxd, unconfined) gets names, as before.
 */
final class QemuFiles implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QemuFiles.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  static final String READ_WRITE = "rw:";
  static final String READ_ONLY = "ro:";
  private static final String OUTPUT = "out:";
  private static final String FDSET = "/dev/fdset/";

  private final RunDir run;
  private final dev.boxd.vmm.qmp.QmpClient qmp;
  private FdMonitor monitor;
  private boolean closed;
  /** Files handed over ahead of the command that uses them (see {@link #prepare}), by path: the name QEMU knows them by. */
  private final Map<Path, String> prepared = new java.util.HashMap<>();
  /** Given back while the guest was paused: QEMU closes such descriptors only once it runs and is asked again. */
  private volatile boolean owed;

  QemuFiles(RunDir run, dev.boxd.vmm.qmp.QmpClient qmp) {
    this.run = run;
    this.qmp = qmp;
  }

  private boolean handsOver() {
    return Files.exists(run.qmpFdSocket());
  }

  private FdMonitor monitor() {
    if (closed) {
      throw new BoxdException(ErrorCode.INTERNAL, "the supervisor let go of this QEMU");
    }
    if (monitor == null) {
      try {
        monitor = FdMonitor.connect(run.qmpFdSocket(), TIMEOUT);
      } catch (IOException e) {
        throw new BoxdException(ErrorCode.UNAVAILABLE, "QEMU's file monitor " + run.qmpFdSocket() + " does not answer: " + e.getMessage(), e);
      }
    }
    return monitor;
  }

  /**
   * Hands over the device state file and the new disk layer of a coming capture now, so that
   * the VM is not stopped while they go over (two round trips each).
   */
  synchronized void prepare(Path deviceState, Path newTop) {
    if (handsOver()) {
      prepared.put(deviceState, output(deviceState));
      prepared.put(newTop, disk(newTop));
    }
  }

  /** The name under which QEMU writes {@code file} (made empty here), for a command that takes a file name. */
  synchronized String output(Path file) {
    String ready = prepared.remove(file);
    if (ready != null || !handsOver()) {
      return ready != null ? ready : file.toString();
    }
    long set = addToSet(file, FdMonitor.O_WRONLY | FdMonitor.O_CREAT | FdMonitor.O_TRUNC, OUTPUT, -1);
    return FDSET + set;
  }

  /** The name under which QEMU opens the disk layer {@code layer} (an existing file) read-write. */
  synchronized String disk(Path layer) {
    String ready = prepared.remove(layer);
    if (ready != null || !handsOver()) {
      return ready != null ? ready : layer.toString();
    }
    long set = addToSet(layer, FdMonitor.O_RDWR, READ_WRITE, -1);
    addToSet(layer, FdMonitor.O_RDONLY, READ_ONLY, set);
    return FDSET + set;
  }

  /**
   * Gives back the descriptors QEMU no longer needs from its fd sets: written outputs, and the
   * read-write descriptors of disk layers, once QEMU holds its own copy (after a disk snapshot,
   * and once a restored VM runs; only loading state reopens the top layer read-write). While the
   * set keeps a layer's read-write descriptor, QEMU's write lock on that layer stays even after
   * the layer is frozen, and no other VM could use it as a backing file. QEMU closes given-back
   * descriptors only while the guest runs: for a paused VM this is done again on resume. So a VM
   * captured twice while paused, without running between (two forks of a VM in standby), still
   * holds the lock on the layer the second capture freezes, and that fork's child fails to start
   * (the error says so; the parent is unharmed).
   */
  synchronized void giveBack() {
    if (closed || !handsOver()) {
      return;
    }
    owed = !"running".equals(qmp.execute("query-status").path("status").asText());
    for (String unused : prepared.values()) { // a capture that failed before using them
      try {
        monitor().call("remove-fd", Map.of("fdset-id", Long.parseLong(unused.substring(FDSET.length()))));
      } catch (RuntimeException e) {
        log.warn("QEMU of {}: cannot give back {}: {}", run.dir(), unused, e.getMessage());
      }
    }
    prepared.clear();
    for (JsonNode set : qmp.execute("query-fdsets")) {
      for (JsonNode fd : set.path("fds")) {
        String opaque = fd.path("opaque").asText();
        if (opaque.startsWith(READ_WRITE) || opaque.startsWith(OUTPUT)) {
          try {
            monitor().call("remove-fd", Map.of("fdset-id", set.path("fdset-id").asLong(), "fd", fd.path("fd").asLong()));
          } catch (RuntimeException e) {
            log.warn("QEMU of {}: cannot give back {} of fd set {}: {}", run.dir(), opaque, set.path("fdset-id"), e.getMessage());
          }
        }
      }
    }
  }

  boolean owed() {
    return owed;
  }

  private static int openForQemu(Path file, int flags) {
    try {
      return FdMonitor.open(file, flags, 0600);
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot open " + file + " for QEMU: " + e.getMessage(), e);
    }
  }

  private long addToSet(Path file, int flags, String kind, long set) {
    int fd = openForQemu(file, flags);
    try {
      Map<String, Object> arguments = new java.util.HashMap<>(Map.of("opaque", kind + file));
      if (set >= 0) {
        arguments.put("fdset-id", set);
      }
      return monitor().callWithFile("add-fd", arguments, fd).path("fdset-id").asLong();
    } finally {
      FdMonitor.close(fd);
    }
  }

  /** Starts an outgoing migration into {@code file}. */
  synchronized void migrate(Path file) {
    if (!handsOver()) {
      qmp.execute("migrate", Map.of("uri", "exec:cat > " + file));
      return;
    }
    handOverAndRun(file, FdMonitor.O_WRONLY | FdMonitor.O_CREAT | FdMonitor.O_TRUNC, "migrate");
  }

  /** Starts loading {@code file} into a QEMU started with {@code -incoming defer}. */
  synchronized void migrateIncoming(Path file) {
    if (!handsOver()) {
      qmp.execute("migrate-incoming", Map.of("uri", "exec:cat " + file));
      return;
    }
    handOverAndRun(file, FdMonitor.O_RDONLY, "migrate-incoming");
  }

  // getfd names the descriptor on this monitor only, so the migration command goes on it too.
  private void handOverAndRun(Path file, int flags, String command) {
    int fd = openForQemu(file, flags);
    try {
      monitor().callWithFile("getfd", Map.of("fdname", "migration"), fd);
      monitor().call(command, Map.of("uri", "fd:migration"));
    } finally {
      FdMonitor.close(fd);
    }
  }

  /**
   * The file behind a name QEMU reports for a block node: a path as given, a {@code /dev/fdset/N}
   * (found by the set's opaque text), or a {@code json:} description whose {@code file} is one.
   */
  synchronized Path pathOf(String name) {
    String file = name;
    if (file.startsWith("json:")) {
      try {
        file = JSON.readTree(file.substring(5)).path("file").path("filename").asText(file);
      } catch (IOException e) {
        throw new BoxdException(ErrorCode.INTERNAL, "QEMU names its disk " + name + ", which is not JSON: " + e.getMessage(), e);
      }
    }
    if (!file.startsWith(FDSET)) {
      return Path.of(file);
    }
    long id = Long.parseLong(file.substring(FDSET.length()));
    for (JsonNode set : qmp.execute("query-fdsets")) {
      if (set.path("fdset-id").asLong() == id) {
        for (JsonNode fd : set.path("fds")) {
          String opaque = fd.path("opaque").asText();
          for (String kind : List.of(READ_WRITE, READ_ONLY)) {
            if (opaque.startsWith(kind)) {
              return Path.of(opaque.substring(kind.length()));
            }
          }
        }
      }
    }
    throw new BoxdException(ErrorCode.INTERNAL, "QEMU's disk " + name + " is an fd set that names no file");
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (monitor != null) {
      monitor.close();
      monitor = null;
    }
  }
}
