package dev.boxd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Host memory of one QEMU from /proc/PID/smaps: its own, and the guest RAM mapping's private pages. */
record Memory(long overheadPssKib, long ramPrivateKib) {
  static Memory of(long pid, Path ramFile) throws IOException {
    long totalPss = 0;
    long ramPss = 0;
    long ramPrivate = 0;
    boolean inRam = false;
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
      if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
        inRam = line.endsWith(ramFile.toString()) || line.contains(ramFile.toString() + " ");
        continue;
      }
      if (line.startsWith("Pss:")) {
        long kib = Long.parseLong(line.replaceAll("\\D", ""));
        totalPss += kib;
        if (inRam) {
          ramPss += kib;
        }
      } else if (inRam && (line.startsWith("Private_Dirty:") || line.startsWith("Private_Clean:"))) {
        ramPrivate += Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return new Memory(totalPss - ramPss, ramPrivate);
  }
}
