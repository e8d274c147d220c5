package dev.boxd.vmm.memory;

import java.util.Arrays;

/** Runs of guest RAM as (offset, length) pairs in ascending order; adjacent runs are merged. */
final class Runs {
  private long[] offsets = new long[256];
  private long[] lengths = new long[256];
  private int size;
  private long bytes;

  void add(long offset, long length) {
    if (size > 0 && offsets[size - 1] + lengths[size - 1] == offset) {
      lengths[size - 1] += length;
    } else {
      if (size > 0 && offset < offsets[size - 1] + lengths[size - 1]) {
        throw new IllegalArgumentException("run at " + offset + " overlaps or precedes the one before it");
      }
      if (size == offsets.length) {
        offsets = Arrays.copyOf(offsets, size * 2);
        lengths = Arrays.copyOf(lengths, size * 2);
      }
      offsets[size] = offset;
      lengths[size] = length;
      size++;
    }
    bytes += length;
  }

  int size() {
    return size;
  }

  long offset(int i) {
    return offsets[i];
  }

  long length(int i) {
    return lengths[i];
  }

  /** Total bytes in all runs. */
  long bytes() {
    return bytes;
  }
}
