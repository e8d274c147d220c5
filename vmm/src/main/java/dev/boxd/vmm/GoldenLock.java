package dev.boxd.vmm;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The lock on one golden base directory ({@code .lock} in it), held while a golden is made, found
 * or deleted. A file lock alone keeps other processes out but not other threads of this one: the
 * JVM refuses a second lock on the same file with {@code OverlappingFileLockException} instead of
 * waiting. So threads of this process queue on an in-process lock first, then take the file lock.
 */
final class GoldenLock {
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  interface Body<T> {
    T run() throws IOException;
  }

  private GoldenLock() {}

  /** Runs {@code body} holding the lock of {@code base}; every path to it (through links too) shares the one lock. */
  static <T> T holding(Path base, Body<T> body) throws IOException {
    ReentrantLock local = IN_PROCESS.computeIfAbsent(base.toRealPath(), p -> new ReentrantLock());
    local.lock();
    try (FileChannel channel = FileChannel.open(base.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        var held = channel.lock()) {
      return body.run();
    } finally {
      local.unlock();
    }
  }
}
