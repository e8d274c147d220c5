package dev.boxd.vmm.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where one QEMU process maps its guest RAM file, read from {@code /proc/PID/maps}: one or more
 * address ranges (the kernel may split the mapping), each with the file offset it starts at. A
 * guest RAM offset is a file offset, so two processes mapping the same file agree on offsets
 * though not on addresses.
 */
public record GuestRamMapping(long pid, Path ramFile, List<Region> regions) {
  public static final int PAGE_SIZE = 4096;

  /** {@code length} bytes of the file from {@code fileOffset} mapped at {@code address}. */
  public record Region(long address, long fileOffset, long length) {
    boolean containsOffset(long offset) {
      return offset >= fileOffset && offset < fileOffset + length;
    }
  }

  public GuestRamMapping {
    regions = List.copyOf(regions);
  }

  /** The mapping of {@code ramFile} in process {@code pid}; fails if the process does not map it. */
  public static GuestRamMapping of(long pid, Path ramFile) {
    String wanted = ramFile.toAbsolutePath().normalize().toString();
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of("/proc/" + pid + "/maps"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the memory map of process " + pid + ": " + e.getMessage(), e);
    }
    List<Region> regions = new ArrayList<>();
    for (String line : lines) {
      // start-end perms offset dev inode path; the path is everything after the fifth field.
      String[] f = line.split("\\s+", 6);
      if (f.length < 6 || !f[5].equals(wanted)) {
        continue;
      }
      int dash = f[0].indexOf('-');
      long start = Long.parseUnsignedLong(f[0].substring(0, dash), 16);
      long end = Long.parseUnsignedLong(f[0].substring(dash + 1), 16);
      regions.add(new Region(start, Long.parseUnsignedLong(f[2], 16), end - start));
    }
    if (regions.isEmpty()) {
      throw new IllegalStateException("process " + pid + " does not map the guest RAM file " + wanted);
    }
    regions.sort(Comparator.comparingLong(Region::fileOffset));
    return new GuestRamMapping(pid, ramFile, regions);
  }

  /** The address of guest RAM offset {@code offset} in this process. */
  public long addressOf(long offset) {
    for (Region r : regions) {
      if (r.containsOffset(offset)) {
        return r.address() + (offset - r.fileOffset());
      }
    }
    throw new IllegalArgumentException("offset " + offset + " is outside the guest RAM mapping of process " + pid);
  }

  /** The region holding {@code offset}. */
  Region regionOf(long offset) {
    for (Region r : regions) {
      if (r.containsOffset(offset)) {
        return r;
      }
    }
    throw new IllegalArgumentException("offset " + offset + " is outside the guest RAM mapping of process " + pid);
  }

  /** Bytes of the file that are mapped. */
  public long length() {
    return regions.stream().mapToLong(Region::length).sum();
  }
}
