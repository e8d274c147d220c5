package dev.boxd.vmm.memory;

import java.io.IOException;
import java.io.InputStream;
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
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds the guest RAM pages a QEMU process writes from some moment on, with the kernel's
 * asynchronous userfaultfd write-protection (Linux 6.7+): the range is registered and
 * write-protected; a write clears the protection of its page without any handler (the kernel
 * resolves the fault); {@code PAGEMAP_SCAN} on {@code /proc/PID/pagemap} then lists the pages no
 * longer protected ("written"). The one thing that must happen inside QEMU, creating the
 * userfaultfd, is done by a small library preloaded into it ({@link #buildPreload}); this class
 * takes a copy of that descriptor with {@code pidfd_getfd} and does the rest from outside.
 * Measured on Linux 6.18 against a private mapping of a {@code /dev/shm} file: exactly the pages
 * written are reported, template and private pages alike, reads are not.
 */
final class UserfaultWp implements AutoCloseable {
  private static final long SYS_PIDFD_OPEN = 434;
  private static final long SYS_PIDFD_GETFD = 438;
  private static final long UFFDIO_REGISTER = 0xc020aa00L;
  private static final long UFFDIO_UNREGISTER = 0x8010aa01L;
  private static final long UFFDIO_WRITEPROTECT = 0xc018aa06L;
  private static final long UFFDIO_REGISTER_MODE_WP = 1 << 1;
  private static final long UFFDIO_WRITEPROTECT_MODE_WP = 1;
  private static final long PAGEMAP_SCAN = 0xc0606610L;
  private static final long PM_SCAN_CHECK_WPASYNC = 1 << 1;
  private static final long PAGE_IS_WRITTEN = 1 << 1;
  private static final long PAGE_IS_FILE = 1 << 2;
  private static final long PAGE_IS_PRESENT = 1 << 3;
  private static final int REGIONS = 4096;
  private static final String RESOURCE = "boxd-uffd.c";

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final MethodHandle SYSCALL2 = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
      Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
  private static final MethodHandle SYSCALL3 = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
          ValueLayout.JAVA_LONG),
      Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
  private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
      Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
  private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
      Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
  private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  private final GuestRamMapping mapping;
  private final int uffd;
  private final int pagemap;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment capture = arena.allocate(CAPTURE);
  private boolean registered;

  private UserfaultWp(GuestRamMapping mapping, int uffd, int pagemap) {
    this.mapping = mapping;
    this.uffd = uffd;
    this.pagemap = pagemap;
  }

  /**
   * Compiles the preload library into {@code dir} (once per source version) and returns it, or
   * empty if it cannot be built (no C compiler): forks then go without write tracking.
   */
  static Optional<Path> buildPreload(Path dir) {
    try (InputStream in = UserfaultWp.class.getResourceAsStream(RESOURCE)) {
      byte[] source = in.readAllBytes();
      String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 12);
      Path library = dir.resolve("boxd-uffd-" + hash + ".so");
      if (Files.exists(library)) {
        return Optional.of(library);
      }
      Files.createDirectories(dir);
      Path src = Files.createTempFile(dir, "boxd-uffd-", ".c");
      Path tmp = dir.resolve(library.getFileName() + ".tmp");
      try {
        Files.write(src, source);
        Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O2", "-o", tmp.toString(), src.toString())
            .redirectErrorStream(true).start();
        String out = new String(gcc.getInputStream().readAllBytes());
        if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
          throw new IOException("gcc failed: " + out.strip());
        }
        Files.move(tmp, library, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return Optional.of(library);
      } finally {
        Files.deleteIfExists(src);
        Files.deleteIfExists(tmp);
      }
    } catch (IOException | InterruptedException | java.security.NoSuchAlgorithmException | RuntimeException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      org.slf4j.LoggerFactory.getLogger(UserfaultWp.class).warn("no write tracking for fork pre-copy: cannot build the QEMU"
          + " preload library in {}: {}", dir, e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * The lowest-numbered userfaultfd of the process, if it has one: the preload library's, made
   * before QEMU opened anything (QEMU makes its own only for postcopy or background snapshots).
   */
  static Optional<Integer> findInProcess(long pid) {
    Optional<Integer> lowest = Optional.empty();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : fds) {
        try {
          int n = Integer.parseInt(fd.getFileName().toString());
          if ((lowest.isEmpty() || n < lowest.get()) && Files.readSymbolicLink(fd).toString().equals("anon_inode:[userfaultfd]")) {
            lowest = Optional.of(n);
          }
        } catch (IOException | NumberFormatException e) {
          // closed meanwhile
        }
      }
      return lowest;
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** A tracker for the process's guest RAM, if QEMU was started with the preload library. */
  static Optional<UserfaultWp> of(GuestRamMapping mapping) {
    Optional<Integer> remote = findInProcess(mapping.pid());
    if (remote.isEmpty()) {
      return Optional.empty();
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment capture = a.allocate(CAPTURE);
      long pidfd = (long) SYSCALL2.invokeExact(capture, SYS_PIDFD_OPEN, mapping.pid(), 0L);
      check(pidfd, capture, "pidfd_open");
      long fd;
      try {
        fd = (long) SYSCALL3.invokeExact(capture, SYS_PIDFD_GETFD, pidfd, (long) remote.get(), 0L);
        check(fd, capture, "pidfd_getfd");
      } finally {
        int ignored = (int) CLOSE.invokeExact((int) pidfd);
      }
      int pm = (int) OPEN.invokeExact(capture, a.allocateFrom("/proc/" + mapping.pid() + "/pagemap"), 0);
      if (pm < 0) {
        int ignored = (int) CLOSE.invokeExact((int) fd);
        check(pm, capture, "open pagemap");
      }
      return Optional.of(new UserfaultWp(mapping, (int) fd, pm));
    } catch (Throwable t) {
      throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }
  }

  private static void check(long result, MemorySegment capture, String what) throws IOException {
    if (result < 0) {
      throw new IOException(what + " failed: errno " + (int) ERRNO.get(capture, 0L));
    }
  }

  private void ioctl(int fd, long request, MemorySegment arg, String what) {
    try {
      int r = (int) IOCTL.invokeExact(capture, fd, request, arg);
      check(r, capture, what);
    } catch (IOException e) {
      throw new UncheckedIOException(what + " on the guest RAM of process " + mapping.pid() + ": " + e.getMessage(), e);
    } catch (Throwable t) {
      throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }
  }

  /** From now on, writes to the guest RAM are tracked (what was written before is forgotten). */
  void protect() {
    for (GuestRamMapping.Region r : mapping.regions()) {
      if (!registered) {
        MemorySegment reg = arena.allocate(32);
        reg.set(ValueLayout.JAVA_LONG, 0, r.address());
        reg.set(ValueLayout.JAVA_LONG, 8, r.length());
        reg.set(ValueLayout.JAVA_LONG, 16, UFFDIO_REGISTER_MODE_WP);
        ioctl(uffd, UFFDIO_REGISTER, reg, "UFFDIO_REGISTER");
      }
    }
    registered = true;
    for (GuestRamMapping.Region r : mapping.regions()) {
      MemorySegment wp = arena.allocate(24);
      wp.set(ValueLayout.JAVA_LONG, 0, r.address());
      wp.set(ValueLayout.JAVA_LONG, 8, r.length());
      wp.set(ValueLayout.JAVA_LONG, 16, UFFDIO_WRITEPROTECT_MODE_WP);
      ioctl(uffd, UFFDIO_WRITEPROTECT, wp, "UFFDIO_WRITEPROTECT");
    }
  }

  /** The pages written since {@link #protect}, as runs of guest RAM offsets. */
  Runs written() {
    return scan(PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
  }

  /** The pages present and anonymous (private copies; swapped ones are not included). */
  Runs presentAnonymous() {
    return scan(PAGE_IS_PRESENT | PAGE_IS_FILE, PAGE_IS_FILE, PAGE_IS_PRESENT);
  }

  /** {@code PAGEMAP_SCAN}: the pages whose categories (after inverting {@code inverted}) include all of {@code mask}. */
  private Runs scan(long mask, long inverted, long returned) {
    Runs runs = new Runs();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment vec = a.allocate(24L * REGIONS, 8);
      MemorySegment arg = a.allocate(96, 8);
      for (GuestRamMapping.Region r : mapping.regions()) {
        long end = r.address() + r.length();
        long done = r.address();
        for (long start = r.address(); start < end; ) {
          arg.fill((byte) 0);
          arg.set(ValueLayout.JAVA_LONG, 0, 96);
          arg.set(ValueLayout.JAVA_LONG, 8, PM_SCAN_CHECK_WPASYNC);
          arg.set(ValueLayout.JAVA_LONG, 16, start);
          arg.set(ValueLayout.JAVA_LONG, 24, end);
          arg.set(ValueLayout.JAVA_LONG, 40, vec.address());
          arg.set(ValueLayout.JAVA_LONG, 48, REGIONS);
          arg.set(ValueLayout.JAVA_LONG, 64, inverted);
          arg.set(ValueLayout.JAVA_LONG, 72, mask);
          arg.set(ValueLayout.JAVA_LONG, 88, returned);
          int n;
          try {
            n = (int) IOCTL.invokeExact(capture, pagemap, PAGEMAP_SCAN, arg);
            check(n, capture, "PAGEMAP_SCAN");
          } catch (IOException e) {
            throw new UncheckedIOException("PAGEMAP_SCAN of process " + mapping.pid() + ": " + e.getMessage(), e);
          } catch (Throwable t) {
            throw t instanceof RuntimeException re ? re : new IllegalStateException(t);
          }
          for (int i = 0; i < n; i++) {
            // A call that fills the vector may end inside a region that the next call returns
            // again from its start: keep only what is new (the result is a set of pages).
            long from = Math.max(vec.get(ValueLayout.JAVA_LONG, 24L * i), done);
            long to = vec.get(ValueLayout.JAVA_LONG, 24L * i + 8);
            if (to > from) {
              runs.add(r.fileOffset() + from - r.address(), to - from);
              done = to;
            }
          }
          long walkEnd = arg.get(ValueLayout.JAVA_LONG, 32);
          if (walkEnd <= start) {
            throw new IllegalStateException("PAGEMAP_SCAN of process " + mapping.pid() + " made no progress at " + Long.toHexString(start));
          }
          start = walkEnd;
        }
      }
    }
    return runs;
  }

  /** Stops tracking: the guest RAM is unregistered (no more write faults) and the descriptors closed. */
  @Override
  public void close() {
    try {
      if (registered) {
        for (GuestRamMapping.Region r : mapping.regions()) {
          MemorySegment range = arena.allocate(16);
          range.set(ValueLayout.JAVA_LONG, 0, r.address());
          range.set(ValueLayout.JAVA_LONG, 8, r.length());
          try {
            ioctl(uffd, UFFDIO_UNREGISTER, range, "UFFDIO_UNREGISTER");
          } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(UserfaultWp.class).warn("{}", e.getMessage());
          }
        }
      }
    } finally {
      try {
        int a = (int) CLOSE.invokeExact(uffd);
        int b = (int) CLOSE.invokeExact(pagemap);
      } catch (Throwable t) {
        // nothing to do
      }
      arena.close();
    }
  }
}
