package dev.boxd.os;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Removing directory trees boxd made (VM directories, build directories, test data). */
public final class Trees {
  private Trees() {}

  /**
   * Deletes {@code dir} and everything below it; nothing if it does not exist. Refuses when a file
   * system is mounted below it (a killed image build may leave /proc or /dev mounted in its
   * chroot; deleting through those would delete the host's).
   */
  public static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try {
      requireNothingMountedBelow(dir);
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Throws when a file system is mounted below {@code dir}: removing through it would remove what it mounts. */
  public static void requireNothingMountedBelow(Path dir) {
    try {
      String prefix = dir.toAbsolutePath().normalize() + "/";
      List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts")).stream()
          .map(line -> line.split(" ")[1]).filter(m -> m.startsWith(prefix)).toList();
      if (!mounts.isEmpty()) {
        throw new IOException("not removing " + dir + ": file systems are still mounted under it: " + mounts);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
    }
  }
}
