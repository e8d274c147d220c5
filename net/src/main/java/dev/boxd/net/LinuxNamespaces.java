package dev.boxd.net;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * Opens sockets inside another network namespace. {@code setns(2)} moves only the calling OS
 * thread, so the work runs on a fresh platform thread that enters the namespace and then ends;
 * sockets it created stay in that namespace and any thread may use them.
 */
final class LinuxNamespaces {
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000;
  private static final int CLONE_NEWNET = 0x40000000;
  private static final Linker LINKER = Linker.nativeLinker();
  private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
  private static final MethodHandle SETNS = LINKER.downcallHandle(LINKER.defaultLookup().find("setns").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  private LinuxNamespaces() {}

  static <T> T inNetworkNamespace(Path namespace, Callable<T> action) {
    var result = new CompletableFuture<T>();
    Thread.ofPlatform().name("netns-" + namespace.getFileName()).start(() -> {
      try {
        enter(namespace);
        result.complete(action.call());
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    });
    try {
      return result.get();
    } catch (InterruptedException e) {
      // The action still runs to its end: whatever it opens for a caller who gave up is closed.
      result.thenAccept(LinuxNamespaces::closeQuietly);
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("in network namespace " + namespace + ": " + e.getCause().getMessage(), e.getCause());
    }
  }

  private static void closeQuietly(Object value) {
    if (value instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception ignored) {
        // nobody is left to tell
      }
    }
  }

  private static void enter(Path namespace) throws Throwable {
    int fd;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment path = arena.allocateFrom(namespace.toString());
      fd = (int) OPEN.invokeExact(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
      throw new IllegalStateException("cannot open " + namespace);
    }
    try {
      if ((int) SETNS.invokeExact(fd, CLONE_NEWNET) != 0) {
        throw new IllegalStateException("setns into " + namespace + " failed");
      }
    } finally {
      int ignored = (int) CLOSE.invokeExact(fd);
    }
  }
}
