package dev.boxd.vmm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Kernel samepage merging (KSM) on this host, opt-in: forks of one VM hold the same private pages
 * (the parent's delta, copied into each child), which KSM merges back into one copy. QEMU marks
 * guest RAM mergeable ({@code merge=on} on the memory backend, see {@link QemuArgs}); the private
 * pages of the RAM template mapping are anonymous pages, which is what KSM scans. KSM is a
 * host-wide setting: whoever enables it also decides how hard {@code ksmd} works (pages per wake
 * and sleep between wakes, i.e. CPU against how soon the memory comes back).
 */
public final class MemoryMerging {
  /** How {@code ksmd} runs: {@code run} 0 stops it (merged pages stay merged), 1 runs it, 2 unmerges all. */
  public record Settings(int run, int pagesToScan, int sleepMillis) {
    public static Settings enabled(int pagesToScan, int sleepMillis) {
      return new Settings(1, pagesToScan, sleepMillis);
    }
  }

  /**
   * KSM's counters: {@code pagesShared} merged pages kept, {@code pagesSharing} the pages mapped
   * onto them (the saving), {@code fullScans} passes over all mergeable memory so far.
   */
  public record Stats(long pagesShared, long pagesSharing, long pagesUnshared, long pagesVolatile, long fullScans, long zeroPages) {
    /** Memory the merging saves now. */
    public long savedBytes() {
      return (pagesSharing + zeroPages) * 4096;
    }
  }

  private final Path dir;

  public MemoryMerging(Path dir) {
    this.dir = dir;
  }

  /** This host's KSM ({@code /sys/kernel/mm/ksm}). */
  public static MemoryMerging host() {
    return new MemoryMerging(Path.of("/sys/kernel/mm/ksm"));
  }

  /** Whether the kernel has KSM (CONFIG_KSM) and this process may set it. */
  public boolean available() {
    return unavailable().isEmpty();
  }

  /** Why KSM cannot be used here, or empty if it can. */
  public Optional<String> unavailable() {
    Path run = dir.resolve("run");
    if (!Files.exists(run)) {
      return Optional.of("this kernel has no KSM (" + run + " does not exist; it needs CONFIG_KSM)");
    }
    if (!Files.isWritable(run)) {
      return Optional.of(run + " is not writable (KSM is set by root)");
    }
    return Optional.empty();
  }

  public Settings settings() {
    return new Settings((int) read("run"), (int) read("pages_to_scan"), (int) read("sleep_millisecs"));
  }

  /** Applies {@code settings}; returns the ones before, to restore. */
  public Settings apply(Settings settings) {
    Settings before = settings();
    write("pages_to_scan", settings.pagesToScan());
    write("sleep_millisecs", settings.sleepMillis());
    write("run", settings.run());
    return before;
  }

  /** Starts {@code ksmd} scanning {@code pagesToScan} pages every {@code sleepMillis}; returns the settings before. */
  public Settings enable(int pagesToScan, int sleepMillis) {
    return apply(Settings.enabled(pagesToScan, sleepMillis));
  }

  public Stats stats() {
    return new Stats(read("pages_shared"), read("pages_sharing"), read("pages_unshared"), read("pages_volatile"), read("full_scans"),
        Files.exists(dir.resolve("ksm_zero_pages")) ? read("ksm_zero_pages") : 0);
  }

  /** CPU time {@code ksmd} has used so far, in milliseconds, or -1 if it cannot be found. */
  public static long ksmdCpuMillis() {
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          if (!Files.readString(p.resolve("comm")).strip().equals("ksmd")) {
            continue;
          }
          String stat = Files.readString(p.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
          return ticks * 10;
        } catch (IOException | RuntimeException e) {
          // gone meanwhile
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  private long read(String name) {
    try {
      return Long.parseLong(Files.readString(dir.resolve(name)).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dir.resolve(name) + ": " + e.getMessage(), e);
    }
  }

  private void write(String name, long value) {
    try {
      Files.writeString(dir.resolve(name), Long.toString(value));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
    }
  }
}
