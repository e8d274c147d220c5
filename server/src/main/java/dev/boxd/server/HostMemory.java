package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's RAM, as a worker registers it: the log admits VMs against it (with an overcommit),
 * so it is the machine's MemTotal, not the server's heap.
 */
final class HostMemory {
  private static final Path MEMINFO = Path.of("/proc/meminfo");

  private HostMemory() {}

  /** MemTotal of {@code /proc/meminfo}, in MiB. */
  static long totalMib() {
    try {
      return parseTotalMib(Files.readString(MEMINFO));
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot read the host's memory size from " + MEMINFO + ": " + e.getMessage(), e);
    }
  }

  static long parseTotalMib(String meminfo) {
    for (String line : meminfo.split("\n")) {
      // "MemTotal:       24683748 kB"
      if (line.startsWith("MemTotal:")) {
        String[] words = line.substring("MemTotal:".length()).trim().split("\\s+");
        if (words.length == 2 && words[1].equals("kB")) {
          return Long.parseLong(words[0]) / 1024;
        }
      }
    }
    throw new BoxdException(ErrorCode.INTERNAL, "no MemTotal line in kB in " + MEMINFO);
  }
}
