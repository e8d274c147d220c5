package dev.boxd.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The anchor for forks: the delta-fork recipe done by hand, with none of boxd's fork code — QMP
 * commands as raw JSON, the pagemap read whole and walked, pages moved with plain positional
 * reads and writes of /proc/PID/mem, one run at a time (what the DESIGN's prototype did).
 */
final class RawFork {
  /** Sends one QMP command (raw JSON) and returns its reply line. */
  interface Qmp {
    String command(String json) throws IOException;
  }

  /** When each step ended, in nanoseconds since the stop. */
  record Times(long downNanos, long runningNanos, long deltaBytes) {}

  private RawFork() {}

  /**
   * Forks the VM behind {@code parent} (pid {@code parentPid}) into the already-launched, waiting
   * {@code child}; the parent continues on {@code parentNewTop}, an empty overlay over its current top
   * made beforehand (as boxd makes it: QEMU would otherwise write into its header the name it knows
   * the old top by, which for a confined QEMU is a descriptor set, not a path).
   */
  static Times fork(Qmp parent, long parentPid, RawQemu child, long childPid, Path ramFile, Path devices, Path parentNewTop)
      throws IOException {
    long t0 = System.nanoTime();
    parent.command("{\"execute\":\"stop\"}");
    check(parent.command("{\"execute\":\"xen-save-devices-state\",\"arguments\":{\"filename\":\"" + devices + "\",\"live\":false}}"));
    long[] map = ramMapping(parentPid, ramFile);
    List<long[]> runs = privateRuns(parentPid, map);
    List<ByteBuffer> pages = new ArrayList<>();
    long bytes = 0;
    try (FileChannel mem = FileChannel.open(Path.of("/proc/" + parentPid + "/mem"), StandardOpenOption.READ)) {
      for (long[] run : runs) {
        ByteBuffer b = ByteBuffer.allocate((int) run[1]);
        while (b.hasRemaining()) {
          mem.read(b, map[0] + run[0] + b.position());
        }
        pages.add(b.flip());
        bytes += run[1];
      }
    }
    check(parent.command("{\"execute\":\"blockdev-snapshot-sync\",\"arguments\":{\"device\":\"root\",\"snapshot-file\":\""
        + parentNewTop + "\",\"format\":\"qcow2\",\"mode\":\"existing\"}}"));
    parent.command("{\"execute\":\"cont\"}");
    long down = System.nanoTime() - t0;
    long[] childMap = ramMapping(childPid, ramFile);
    try (FileChannel mem = FileChannel.open(Path.of("/proc/" + childPid + "/mem"), StandardOpenOption.WRITE)) {
      for (int i = 0; i < runs.size(); i++) {
        ByteBuffer b = pages.get(i);
        while (b.hasRemaining()) {
          mem.write(b, childMap[0] + runs.get(i)[0] + b.position());
        }
      }
    }
    check(child.command("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat " + devices + "\"}}"));
    child.awaitMigrationCompleted();
    if (!child.command("{\"execute\":\"query-status\"}").contains("\"running\"")) {
      child.command("{\"execute\":\"cont\"}");
    }
    long running = System.nanoTime() - t0;
    Files.deleteIfExists(devices);
    return new Times(down, running, bytes);
  }

  private static void check(String reply) throws IOException {
    if (reply.contains("\"error\"")) {
      throw new IOException(reply);
    }
  }

  /** {start address, length} of the RAM file's mapping (assumed to be one piece from offset 0). */
  static long[] ramMapping(long pid, Path ramFile) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
      if (line.endsWith(" " + ramFile)) {
        String[] range = line.substring(0, line.indexOf(' ')).split("-");
        long start = Long.parseUnsignedLong(range[0], 16);
        return new long[] {start, Long.parseUnsignedLong(range[1], 16) - start};
      }
    }
    throw new IOException("process " + pid + " does not map " + ramFile);
  }

  /** {offset, length} runs of pages present-and-anonymous or swapped. */
  static List<long[]> privateRuns(long pid, long[] map) throws IOException {
    int pages = (int) (map[1] / 4096);
    byte[] entries = new byte[pages * 8];
    try (RandomAccessFile pagemap = new RandomAccessFile("/proc/" + pid + "/pagemap", "r")) {
      pagemap.seek(map[0] / 4096 * 8);
      pagemap.readFully(entries);
    }
    ByteBuffer e = ByteBuffer.wrap(entries).order(ByteOrder.nativeOrder());
    List<long[]> runs = new ArrayList<>();
    long[] current = null;
    for (int i = 0; i < pages; i++) {
      long entry = e.getLong(i * 8);
      boolean own = (entry & (3L << 62)) != 0 && (entry & (1L << 61)) == 0;
      if (!own) {
        current = null;
      } else if (current != null && current[1] < (64L << 20)) {
        current[1] += 4096;
      } else {
        current = new long[] {(long) i * 4096, 4096};
        runs.add(current);
      }
    }
    return runs;
  }
}
