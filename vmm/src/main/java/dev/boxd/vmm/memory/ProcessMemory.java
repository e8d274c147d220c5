package dev.boxd.vmm.memory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies runs of another process's guest RAM to or from one contiguous local segment, in run
 * order. Two ways, both measured (see {@code bench/}): {@code process_vm_readv}/{@code writev}
 * with up to {@value #IOV_MAX} remote ranges per system call (the default), and positional reads
 * and writes of {@code /proc/PID/mem}. Writing into a private file mapping through either makes
 * the target's own copy of each page, leaving the file untouched.
 */
public final class ProcessMemory {
  /** How pages are copied between processes. */
  public enum Method { PROCESS_VM, PROC_MEM }

  static final int IOV_MAX = 1024;
  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout IOVEC = MemoryLayout.structLayout(
      ValueLayout.ADDRESS.withName("base"), ValueLayout.JAVA_LONG.withName("len"));
  private static final VarHandle IOV_BASE = IOVEC.varHandle(MemoryLayout.PathElement.groupElement("base"));
  private static final VarHandle IOV_LEN = IOVEC.varHandle(MemoryLayout.PathElement.groupElement("len"));
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final FunctionDescriptor VM_RW = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
      ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);
  private static final MethodHandle READV = LINKER.downcallHandle(LINKER.defaultLookup().find("process_vm_readv").orElseThrow(),
      VM_RW, Linker.Option.captureCallState("errno"));
  private static final MethodHandle WRITEV = LINKER.downcallHandle(LINKER.defaultLookup().find("process_vm_writev").orElseThrow(),
      VM_RW, Linker.Option.captureCallState("errno"));

  private ProcessMemory() {}

  /** Reads {@code runs} of guest RAM from the process into {@code into}, packed in run order. */
  static void read(GuestRamMapping mapping, Runs runs, MemorySegment into, Method method) {
    copy(mapping, runs, into, method, false);
  }

  /** Writes {@code from} (packed in run order) into the process's guest RAM at {@code runs}. */
  static void write(GuestRamMapping mapping, Runs runs, MemorySegment from, Method method) {
    copy(mapping, runs, from, method, true);
  }

  private static void copy(GuestRamMapping mapping, Runs runs, MemorySegment local, Method method, boolean write) {
    if (local.byteSize() < runs.bytes()) {
      throw new IllegalArgumentException("local buffer of " + local.byteSize() + " bytes is smaller than the runs (" + runs.bytes() + ")");
    }
    switch (method) {
      case PROCESS_VM -> viaProcessVm(mapping, runs, local, write);
      case PROC_MEM -> viaProcMem(mapping, runs, local, write);
    }
  }

  private static void viaProcessVm(GuestRamMapping mapping, Runs runs, MemorySegment local, boolean write) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment remote = arena.allocate(IOVEC, IOV_MAX);
      MemorySegment localIov = arena.allocate(IOVEC);
      MemorySegment capture = arena.allocate(CAPTURE);
      long localOffset = 0;
      int count = 0;
      long batchBytes = 0;
      for (int i = 0; i < runs.size(); i++) {
        long offset = runs.offset(i);
        long left = runs.length(i);
        while (left > 0) {
          // A run may cross from one region of the mapping to the next: split it there.
          GuestRamMapping.Region region = mapping.regionOf(offset);
          long n = Math.min(left, region.fileOffset() + region.length() - offset);
          IOV_BASE.set(remote, (long) count * IOVEC.byteSize(), MemorySegment.ofAddress(region.address() + offset - region.fileOffset()));
          IOV_LEN.set(remote, (long) count * IOVEC.byteSize(), n);
          count++;
          batchBytes += n;
          offset += n;
          left -= n;
          if (count == IOV_MAX) {
            transfer(mapping.pid(), local.asSlice(localOffset, batchBytes), localIov, remote, count, capture, write);
            localOffset += batchBytes;
            count = 0;
            batchBytes = 0;
          }
        }
      }
      if (count > 0) {
        transfer(mapping.pid(), local.asSlice(localOffset, batchBytes), localIov, remote, count, capture, write);
      }
    }
  }

  // One system call moves a whole batch; a partial transfer (the kernel stops at the first range
  // it cannot access) is resumed from where it stopped, so only a real fault is an error.
  private static void transfer(long pid, MemorySegment local, MemorySegment localIov, MemorySegment remote, int count,
      MemorySegment capture, boolean write) {
    long done = 0;
    int first = 0;
    while (first < count) {
      IOV_BASE.set(localIov, 0L, local.asSlice(done));
      IOV_LEN.set(localIov, 0L, local.byteSize() - done);
      long n;
      try {
        n = (long) (write ? WRITEV : READV).invokeExact(capture, (int) pid, localIov, 1L,
            remote.asSlice(first * IOVEC.byteSize()), (long) (count - first), 0L);
      } catch (Throwable t) {
        throw new IllegalStateException("process_vm call failed", t);
      }
      if (n <= 0) {
        int errno = (int) ERRNO.get(capture, 0L);
        throw new UncheckedIOException(new IOException((write ? "writing" : "reading") + " the memory of process " + pid
            + " failed: errno " + errno));
      }
      done += n;
      // Skip the remote ranges that were completed; shorten the one that was cut.
      while (n > 0 && first < count) {
        long offset = first * IOVEC.byteSize();
        long len = (long) IOV_LEN.get(remote, offset);
        if (n >= len) {
          n -= len;
          first++;
        } else {
          MemorySegment base = (MemorySegment) IOV_BASE.get(remote, offset);
          IOV_BASE.set(remote, offset, MemorySegment.ofAddress(base.address() + n));
          IOV_LEN.set(remote, offset, len - n);
          n = 0;
        }
      }
    }
  }

  private static void viaProcMem(GuestRamMapping mapping, Runs runs, MemorySegment local, boolean write) {
    var options = write ? StandardOpenOption.WRITE : StandardOpenOption.READ;
    try (FileChannel mem = FileChannel.open(Path.of("/proc/" + mapping.pid() + "/mem"), options)) {
      long localOffset = 0;
      for (int i = 0; i < runs.size(); i++) {
        long offset = runs.offset(i);
        long left = runs.length(i);
        while (left > 0) {
          GuestRamMapping.Region region = mapping.regionOf(offset);
          long n = Math.min(Math.min(left, region.fileOffset() + region.length() - offset), 1L << 30);
          ByteBuffer buffer = local.asSlice(localOffset, n).asByteBuffer();
          long address = region.address() + offset - region.fileOffset();
          while (buffer.hasRemaining()) {
            int moved = write ? mem.write(buffer, address + buffer.position()) : mem.read(buffer, address + buffer.position());
            if (moved <= 0) {
              throw new IOException("short " + (write ? "write" : "read") + " at address " + Long.toHexString(address));
            }
          }
          localOffset += n;
          offset += n;
          left -= n;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot access the memory of process " + mapping.pid() + ": " + e.getMessage(), e);
    }
  }
}
