package dev.boxd.vmm.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Finds the pages of a file mapping that a process has made its own, from
 * {@code /proc/PID/pagemap} (one 64-bit entry per page; see the kernel's
 * {@code admin-guide/mm/pagemap.rst}). In a private mapping of a file, a page the process wrote
 * became an anonymous copy: present (bit 63) and not file-backed (bit 61 clear), or swapped out
 * (bit 62) but for a PTE marker (swap type 31, left by userfaultfd write-protection where no
 * page is mapped). A present file-backed page, or a page not present at all, still reads as the
 * file.
 */
final class PageMap {
  static final long PRESENT = 1L << 63;
  static final long SWAPPED = 1L << 62;
  static final long FILE_OR_SHARED = 1L << 61;
  /** Written since the last {@code echo 4 > /proc/PID/clear_refs} (only with CONFIG_MEM_SOFT_DIRTY). */
  static final long SOFT_DIRTY = 1L << 55;
  /** Entries read per system call: 512 KiB of pagemap describes 256 MiB of RAM. */
  private static final int BATCH = 1 << 16;

  private PageMap() {}

  /** The swap type of a swapped entry (shown to root only; 0 otherwise). */
  static final long SWAP_TYPE = 0x1f;
  /**
   * The swap type of a PTE marker ({@code SWP_PTE_MARKER}, the last type with 5 type bits): not
   * a page, but what userfaultfd write-protection leaves in place of a page not yet mapped.
   */
  static final long PTE_MARKER = 31;

  static boolean isPrivate(long entry) {
    if ((entry & FILE_OR_SHARED) != 0) {
      return false;
    }
    return (entry & PRESENT) != 0 || (entry & SWAPPED) != 0 && (entry & SWAP_TYPE) != PTE_MARKER;
  }

  /** Receives one pagemap entry per page of a mapping, in ascending guest RAM offset order. */
  interface Visitor {
    void page(long offset, long entry);
  }

  /** The private pages of {@code mapping}, as runs of guest RAM offsets (sorted, coalesced). */
  static Runs privateRuns(GuestRamMapping mapping) {
    Runs runs = new Runs();
    scan(mapping, (offset, entry) -> {
      if (isPrivate(entry)) {
        runs.add(offset, GuestRamMapping.PAGE_SIZE);
      }
    });
    return runs;
  }

  /** Reads the pagemap entry of every page of {@code mapping}. */
  static void scan(GuestRamMapping mapping, Visitor visitor) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(BATCH * 8).order(ByteOrder.nativeOrder());
    try (FileChannel pagemap = FileChannel.open(Path.of("/proc/" + mapping.pid() + "/pagemap"), StandardOpenOption.READ)) {
      for (GuestRamMapping.Region region : mapping.regions()) {
        long pages = region.length() / GuestRamMapping.PAGE_SIZE;
        long firstPage = region.address() / GuestRamMapping.PAGE_SIZE;
        for (long done = 0; done < pages; ) {
          int count = (int) Math.min(BATCH, pages - done);
          buffer.clear().limit(count * 8);
          long position = (firstPage + done) * 8;
          while (buffer.hasRemaining()) {
            int n = pagemap.read(buffer, position + buffer.position());
            if (n <= 0) {
              throw new IOException("short read of the pagemap of process " + mapping.pid());
            }
          }
          buffer.flip();
          for (int i = 0; i < count; i++) {
            visitor.page(region.fileOffset() + (done + i) * GuestRamMapping.PAGE_SIZE, buffer.getLong(i * 8));
          }
          done += count;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the pagemap of process " + mapping.pid() + ": " + e.getMessage(), e);
    }
  }
}
