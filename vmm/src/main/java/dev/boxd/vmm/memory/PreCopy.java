package dev.boxd.vmm.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Copies a running VM's private pages into another process mapping the same template before the
 * VM stops, so that while it is stopped only what changed since has to be read. Write tracking
 * starts; the first pass reads every private page of the running source and writes it straight
 * into the target, in chunks; {@link #finish} (source stopped) scans the pagemap again and reads
 * the pages written since tracking started, the pages that became private since, and the pages
 * copied before that are no longer private (they read as the template again). Writing those over
 * the first pass gives the target the source's RAM at the stop.
 *
 * <p>One pre-copy per source process at a time (a second waits): soft-dirty bits are cleared for
 * the whole process, and a userfaultfd range is registered once.
 */
public final class PreCopy implements AutoCloseable {
  /** How the pages written since the first pass are found. */
  public enum Tracking {
    /**
     * Asynchronous userfaultfd write-protection (Linux 6.7+), through the descriptor the preload
     * library ({@link #preloadLibrary}) gives QEMU: only pages written since.
     */
    USERFAULTFD,
    /** The kernel's soft-dirty bits ({@code CONFIG_MEM_SOFT_DIRTY}): only pages written since. */
    SOFT_DIRTY,
    /** None: every page private at the stop is read again (as without pre-copy); for kernels without soft-dirty, and tests. */
    NONE
  }

  private static final long CHUNK = 32L << 20;
  private static final ConcurrentHashMap<Long, ReentrantLock> LOCKS = new ConcurrentHashMap<>();
  private static volatile Boolean softDirty;

  private final GuestRamMapping source;
  private final Tracking tracking;
  private final long[] copied;
  private final ReentrantLock lock;
  private final MemoryDelta.Reservation reservation;
  private final UserfaultWp userfault;
  private final long copiedBytes;
  private final int copiedRuns;
  private final long firstPassNanos;
  private long[] gone;
  private boolean closed;

  private PreCopy(GuestRamMapping source, Tracking tracking, UserfaultWp userfault, long[] copied, ReentrantLock lock,
      MemoryDelta.Reservation reservation, long copiedBytes, int copiedRuns, long firstPassNanos) {
    this.source = source;
    this.userfault = userfault;
    this.tracking = tracking;
    this.copied = copied;
    this.lock = lock;
    this.reservation = reservation;
    this.copiedBytes = copiedBytes;
    this.copiedRuns = copiedRuns;
    this.firstPassNanos = firstPassNanos;
  }

  /**
   * Builds (once) the library that, preloaded into QEMU ({@code LD_PRELOAD}), gives it the
   * userfaultfd {@link Tracking#USERFAULTFD} uses; empty if it cannot be built (no C compiler).
   */
  public static Optional<Path> preloadLibrary(Path dir) {
    return UserfaultWp.buildPreload(dir);
  }

  /** The best tracking for a process: userfaultfd if it has one, soft-dirty if the kernel keeps it, else none. */
  public static Tracking bestFor(long pid) {
    if (UserfaultWp.findInProcess(pid).isPresent()) {
      return Tracking.USERFAULTFD;
    }
    return softDirtyAvailable() ? Tracking.SOFT_DIRTY : Tracking.NONE;
  }

  /** Whether this kernel keeps soft-dirty bits (probed once on this process's own memory). */
  public static boolean softDirtyAvailable() {
    Boolean known = softDirty;
    if (known == null) {
      known = probeSoftDirty();
      softDirty = known;
    }
    return known;
  }

  private static boolean probeSoftDirty() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment page = arena.allocate(GuestRamMapping.PAGE_SIZE, GuestRamMapping.PAGE_SIZE);
      page.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
      clearSoftDirty("self");
      boolean cleared = (ownEntry(page.address()) & PageMap.SOFT_DIRTY) == 0;
      page.set(ValueLayout.JAVA_BYTE, 0, (byte) 2);
      return cleared && (ownEntry(page.address()) & PageMap.SOFT_DIRTY) != 0;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static long ownEntry(long address) {
    try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
      ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
      while (entry.hasRemaining()) {
        if (pagemap.read(entry, address / GuestRamMapping.PAGE_SIZE * 8 + entry.position()) <= 0) {
          throw new IOException("short read of the own pagemap");
        }
      }
      return entry.getLong(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void clearSoftDirty(String pid) {
    try {
      Files.writeString(Path.of("/proc/" + pid + "/clear_refs"), "4");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear the soft-dirty bits of process " + pid + ": " + e.getMessage(), e);
    }
  }

  /**
   * Clears the source's soft-dirty bits (with {@link Tracking#SOFT_DIRTY}), then copies its
   * private pages into {@code target} while it runs, and sets aside a touched buffer for what
   * {@link #finish} reads.
   */
  public static PreCopy start(GuestRamMapping source, GuestRamMapping target, Tracking tracking) {
    if (target.length() != source.length()) {
      throw new IllegalArgumentException("the target maps " + target.length() + " bytes of guest RAM, the source " + source.length());
    }
    ReentrantLock lock = LOCKS.computeIfAbsent(source.pid(), pid -> new ReentrantLock());
    lock.lock();
    UserfaultWp userfault = null;
    try {
      long t0 = System.nanoTime();
      if (tracking == Tracking.SOFT_DIRTY) {
        clearSoftDirty(Long.toString(source.pid()));
      } else if (tracking == Tracking.USERFAULTFD) {
        userfault = UserfaultWp.of(source).orElseThrow(() -> new IllegalStateException("process " + source.pid()
            + " has no userfaultfd (QEMU not started with the preload library)"));
        userfault.protect();
      }
      Runs runs = PageMap.privateRuns(source);
      long end = source.regions().stream().mapToLong(r -> r.fileOffset() + r.length()).max().orElse(0);
      long[] copied = bitmap(runs, (int) ((end / GuestRamMapping.PAGE_SIZE + 63) / 64));
      copyAcross(source, target, runs);
      long again = tracking == Tracking.NONE ? runs.bytes() + runs.bytes() / 4 : runs.bytes() / 8;
      var reservation = MemoryDelta.Reservation.touched(Math.min(source.length(), again + (16L << 20)));
      try {
        var precopy = new PreCopy(source, tracking, userfault, copied, lock, reservation, runs.bytes(), runs.size(),
            System.nanoTime() - t0);
        if (userfault != null) {
          precopy.gone = precopy.notPresent();
        }
        // Once while the source runs, so that the scan in finish() runs compiled code (measured: a
        // cold scan of 1 GiB took 42 ms against 5 ms warm).
        precopy.changed();
        return precopy;
      } catch (RuntimeException | Error e) {
        reservation.close();
        throw e;
      }
    } catch (RuntimeException | Error e) {
      if (userfault != null) {
        userfault.close();
      }
      lock.unlock();
      throw e;
    }
  }

  // Through one reused buffer, a chunk at a time: no buffer the size of the delta.
  private static void copyAcross(GuestRamMapping source, GuestRamMapping target, Runs runs) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(Math.max(1, Math.min(CHUNK, runs.bytes())), GuestRamMapping.PAGE_SIZE);
      Runs chunk = new Runs();
      for (int i = 0; i < runs.size(); i++) {
        long offset = runs.offset(i);
        long left = runs.length(i);
        while (left > 0) {
          long n = Math.min(left, buffer.byteSize() - chunk.bytes());
          chunk.add(offset, n);
          offset += n;
          left -= n;
          if (chunk.bytes() == buffer.byteSize()) {
            ProcessMemory.read(source, chunk, buffer, ProcessMemory.Method.PROCESS_VM);
            ProcessMemory.write(target, chunk, buffer, ProcessMemory.Method.PROCESS_VM);
            chunk = new Runs();
          }
        }
      }
      if (chunk.size() > 0) {
        ProcessMemory.read(source, chunk, buffer, ProcessMemory.Method.PROCESS_VM);
        ProcessMemory.write(target, chunk, buffer, ProcessMemory.Method.PROCESS_VM);
      }
    }
  }

  /**
   * With the source stopped (its vCPUs and devices not writing): reads the pages that differ
   * from what the first pass wrote into the target. Writing the result into the target completes
   * it; the result is the caller's to close.
   */
  public MemoryDelta finish() {
    long t0 = System.nanoTime();
    Runs runs = changed();
    return MemoryDelta.read(source, runs, reservation, ProcessMemory.Method.PROCESS_VM, System.nanoTime() - t0);
  }

  /**
   * The pages copied in the first pass that are no longer present private copies: discarded by
   * QEMU since (they read as the template again), or swapped (read again either way). Found
   * after the first pass, just before the stop, not during it: this scan visits every page
   * (~6 ms per GiB measured), the scan for written pages at the stop does not (~1 ms for 2 GiB).
   * A page discarded in the moment between the two would be missed; only a balloon, virtio-mem
   * or postcopy discard guest RAM, and boxd's machine has none (see QemuArgs).
   */
  private long[] notPresent() {
    long[] present = bitmap(userfault.presentAnonymous(), copied.length);
    long[] gone = new long[copied.length];
    for (int i = 0; i < gone.length; i++) {
      gone[i] = copied[i] & ~present[i];
    }
    return gone;
  }

  private Runs changed() {
    if (userfault != null) {
      // With the kernel's own scan for written pages: a page cannot become private without being
      // written, so the pages written since and those gone since the first pass are all.
      long[] again = bitmap(userfault.written(), copied.length);
      for (int i = 0; i < again.length; i++) {
        again[i] |= gone[i];
      }
      return runsOf(again);
    }
    Runs runs = new Runs();
    PageMap.scan(source, (offset, entry) -> {
      long page = offset / GuestRamMapping.PAGE_SIZE;
      boolean before = (copied[(int) (page >>> 6)] & (1L << (page & 63))) != 0;
      boolean written = tracking == Tracking.NONE || (entry & PageMap.SOFT_DIRTY) != 0;
      if (PageMap.isPrivate(entry) ? written || !before : before) {
        runs.add(offset, GuestRamMapping.PAGE_SIZE);
      }
    });
    return runs;
  }

  /** One bit per page (by guest RAM offset) for the pages of {@code runs}. */
  private static long[] bitmap(Runs runs, int words) {
    long[] bits = new long[words];
    for (int i = 0; i < runs.size(); i++) {
      for (long o = runs.offset(i); o < runs.offset(i) + runs.length(i); o += GuestRamMapping.PAGE_SIZE) {
        long page = o / GuestRamMapping.PAGE_SIZE;
        bits[(int) (page >>> 6)] |= 1L << (page & 63);
      }
    }
    return bits;
  }

  /** The runs of pages whose bits are set. */
  private static Runs runsOf(long[] bits) {
    Runs runs = new Runs();
    for (int w = 0; w < bits.length; w++) {
      long word = bits[w];
      while (word != 0) {
        int bit = Long.numberOfTrailingZeros(word);
        runs.add(((long) w * 64 + bit) * GuestRamMapping.PAGE_SIZE, GuestRamMapping.PAGE_SIZE);
        word &= word - 1;
      }
    }
    return runs;
  }

  /** Bytes the first pass copied while the source ran. */
  public long copiedBytes() {
    return copiedBytes;
  }

  public int copiedRuns() {
    return copiedRuns;
  }

  /** Time of the first pass (scan, copy, buffer for {@link #finish}). */
  public long firstPassMicros() {
    return firstPassNanos / 1000;
  }

  public Tracking tracking() {
    return tracking;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      try {
        if (userfault != null) {
          userfault.close();
        }
        reservation.close();
      } finally {
        lock.unlock();
      }
    }
  }
}
