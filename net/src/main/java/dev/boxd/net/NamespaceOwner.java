package dev.boxd.net;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which boxd owns a VM network namespace. Taps are named by address and owner sets by owner,
 * so two servers of different state directories in one namespace would take each other's taps
 * and let each other's VMs through their isolation rules. A server therefore claims the
 * namespace in a marker beside it, {@code /run/boxd/netns-NAME.owner} (in /run, so it goes
 * with the namespace at a reboot): its state directory, pid and start time.
 *
 * <p>At start, a namespace claimed by another state directory is refused while its server runs,
 * and while processes of it (QEMUs) run in the namespace and that directory still exists (its
 * server would adopt them on its next start); otherwise its leftovers (taps, rules, set
 * elements, processes) are removed with the namespace, and the namespace is made afresh.
 */
final class NamespaceOwner {
  private static final Logger log = LoggerFactory.getLogger(NamespaceOwner.class);
  static final Path MARKERS = Path.of("/run/boxd");

  /** A claim: the state directory of the server that made it, and that server's process. */
  record Claim(Path stateDir, long pid, Instant started) {

    static Claim ofThisProcess(Path stateDir) {
      ProcessHandle self = ProcessHandle.current();
      return new Claim(stateDir.toAbsolutePath().normalize(), self.pid(), self.info().startInstant().orElse(Instant.EPOCH));
    }

    /** Its server still runs: the pid is alive and started when the claim says (not a reused pid). */
    boolean serverRuns() {
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
          .map(p -> p.info().startInstant().map(started::equals).orElse(false)).orElse(false);
    }
  }

  private NamespaceOwner() {}

  static Path markerOf(String namespace) {
    return MARKERS.resolve("netns-" + namespace + ".owner");
  }

  /**
   * Makes {@code ns} this server's ({@code stateDir}) before it is set up: cleans another state
   * directory's leftovers, or throws FAILED_PRECONDITION naming the namespace, the owner and what
   * to do.
   */
  static void claim(NetworkNamespace ns, Path stateDir) {
    Claim mine = Claim.ofThisProcess(stateDir);
    Optional<Claim> found = read(ns.name());
    if (ns.exists() && found.isPresent() && !found.get().stateDir().equals(mine.stateDir())) {
      Claim other = found.get();
      String whose = "network namespace " + ns.name() + " belongs to the boxd server of " + other.stateDir();
      String instead = "; give this server a namespace of its own with --netns NAME";
      if (other.pid() != mine.pid() && other.serverRuns()) {
        throw new BoxdException(ErrorCode.FAILED_PRECONDITION, whose + " (pid " + other.pid() + ", running)" + instead);
      }
      if (other.pid() == mine.pid()) {
        throw new BoxdException(ErrorCode.FAILED_PRECONDITION, whose + ", set up by this same process" + instead);
      }
      List<Long> processes = processesIn(ns);
      if (!processes.isEmpty() && Files.isDirectory(other.stateDir())) {
        throw new BoxdException(ErrorCode.FAILED_PRECONDITION, whose + ", whose server is not running but whose VMs are"
            + " (processes " + processes + "): start that server again to take them back, or stop them" + instead);
      }
      // Its server is gone, and so is its directory or anything running: nothing to take back.
      processes.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      ns.delete();
      log.warn("removed the leftovers of {} (its server gone) from network namespace {}: taps, rules{}", other.stateDir(),
          ns.name(), processes.isEmpty() ? "" : " and processes " + processes);
    }
    write(ns.name(), mine);
  }

  /** Drops this server's claim (after tearing the namespace down). */
  static void release(String namespace) {
    try {
      Files.deleteIfExists(markerOf(namespace));
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", markerOf(namespace), e.getMessage());
    }
  }

  static Optional<Claim> read(String namespace) {
    Path marker = markerOf(namespace);
    try {
      var p = new Properties();
      p.load(new StringReader(Files.readString(marker, StandardCharsets.UTF_8)));
      return Optional.of(new Claim(Path.of(p.getProperty("stateDir")), Long.parseLong(p.getProperty("pid")),
          Instant.parse(p.getProperty("started"))));
    } catch (java.nio.file.NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      log.warn("ignoring the unreadable namespace marker {}: {}", marker, e.toString());
      return Optional.empty();
    }
  }

  static void write(String namespace, Claim claim) {
    Path marker = markerOf(namespace);
    try {
      Files.createDirectories(MARKERS);
      Path tmp = marker.resolveSibling(marker.getFileName() + ".tmp");
      Files.writeString(tmp, "stateDir=" + claim.stateDir() + "\npid=" + claim.pid() + "\nstarted=" + claim.started() + "\n");
      Files.move(tmp, marker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("recording the owner of network namespace " + namespace + " in " + marker, e);
    }
  }

  /** Processes whose network namespace is {@code ns} (QEMUs, for boxd), this one excepted. */
  static List<Long> processesIn(NetworkNamespace ns) {
    var listed = HostCommand.tryRun("ip", "netns", "pids", ns.name());
    if (!listed.ok()) {
      return List.of();
    }
    long self = ProcessHandle.current().pid();
    return listed.stdout().lines().map(String::trim).filter(l -> !l.isEmpty()).map(Long::parseLong).filter(pid -> pid != self).toList();
  }
}
