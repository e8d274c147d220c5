package dev.boxd.worker.runtime;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.MemoryMerging;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kernel samepage merging for the life of a worker, when the operator chooses it
 * ({@code boxd server --merge-memory}): on at start, the host's own settings back at clean
 * shutdown. KSM is host-wide, so the settings found at start are written to a file first; a
 * worker that was killed leaves that file, and the next start restores from it (or, merging
 * again, keeps it) instead of taking the worker's own settings for the host's. Safe to close
 * whether or not merging was ever turned on. One merging worker per host: two would each restore
 * at their own shutdown.
 */
public final class HostMemoryMerging implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HostMemoryMerging.class);

  /**
   * 1000 pages (4 MiB) every 20 ms. Measured (fork bench, 2 cores, TCG): ten forks of a 1 GiB VM
   * with 512 MiB written merged in 92 s with ksmd using 19 % of one core meanwhile, then 3 % for as
   * long as it runs (it keeps scanning: VMs write their memory). 4000 pages merge the same in
   * 40-58 s for 23-43 % of one core, then 7-9 %.
   */
  public static final MemoryMerging.Settings DEFAULT = MemoryMerging.Settings.enabled(1000, 20);

  private final MemoryMerging ksm;
  private final Path savedFile;
  private final MemoryMerging.Settings before;
  private boolean closed;

  private HostMemoryMerging(MemoryMerging ksm, Path savedFile, MemoryMerging.Settings before) {
    this.ksm = ksm;
    this.savedFile = savedFile;
    this.before = before;
  }

  /**
   * Applies {@code wanted} (empty: no merging) to {@code ksm}, keeping the host's settings before
   * in {@code savedFile} until {@link #close}. Without merging, settings a killed worker left
   * there are restored now.
   *
   * @throws BoxdException FAILED_PRECONDITION if merging is wanted and the kernel has no KSM or
   *     this process may not set it
   */
  public static HostMemoryMerging start(MemoryMerging ksm, Optional<MemoryMerging.Settings> wanted, Path savedFile) {
    Optional<MemoryMerging.Settings> left = read(savedFile);
    if (wanted.isEmpty()) {
      left.ifPresent(settings -> new HostMemoryMerging(ksm, savedFile, settings).close());
      return new HostMemoryMerging(ksm, savedFile, null);
    }
    ksm.unavailable().ifPresent(why -> {
      throw new BoxdException(ErrorCode.FAILED_PRECONDITION, "cannot merge memory: " + why);
    });
    MemoryMerging.Settings before = left.orElseGet(ksm::settings);
    if (left.isEmpty()) {
      write(savedFile, before);
    }
    HostMemoryMerging merging = new HostMemoryMerging(ksm, savedFile, before);
    try {
      ksm.apply(wanted.get());
    } catch (RuntimeException e) {
      merging.close();
      throw new BoxdException(ErrorCode.FAILED_PRECONDITION, "cannot merge memory with " + wanted.get() + ": " + e.getMessage(), e);
    }
    log.info("memory merging (KSM) on: {} pages every {} ms; the host's settings before ({}) come back at shutdown",
        wanted.get().pagesToScan(), wanted.get().sleepMillis(), before);
    return merging;
  }

  /** Whether this worker turned merging on (and will restore the host's settings). */
  public boolean merging() {
    return before != null;
  }

  /** Restores the host's settings from before the start; pages merged so far stay merged. */
  @Override
  public synchronized void close() {
    if (before == null || closed) {
      return;
    }
    try {
      ksm.apply(before);
      Files.deleteIfExists(savedFile);
      closed = true;
      log.info("the host's KSM settings are back: {}", before);
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot restore the host's KSM settings ({}) from {}: {}", before, savedFile, e.getMessage());
    }
  }

  private static Optional<MemoryMerging.Settings> read(Path file) {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file)) {
      p.load(in);
      return Optional.of(new MemoryMerging.Settings(Integer.parseInt(p.getProperty("run")),
          Integer.parseInt(p.getProperty("pages_to_scan")), Integer.parseInt(p.getProperty("sleep_millisecs"))));
    } catch (IOException | RuntimeException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot read the host's KSM settings from " + file + ": " + e.getMessage()
          + " (restore them by hand in /sys/kernel/mm/ksm and delete the file)", e);
    }
  }

  private static void write(Path file, MemoryMerging.Settings settings) {
    Properties p = new Properties();
    p.setProperty("run", Integer.toString(settings.run()));
    p.setProperty("pages_to_scan", Integer.toString(settings.pagesToScan()));
    p.setProperty("sleep_millisecs", Integer.toString(settings.sleepMillis()));
    try {
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (Writer out = Files.newBufferedWriter(tmp)) {
        p.store(out, "the host's KSM settings before boxd turned merging on; restored at shutdown");
      }
      Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
