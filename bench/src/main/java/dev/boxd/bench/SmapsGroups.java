package dev.boxd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One QEMU's memory from /proc/PID/smaps, grouped by what each mapping is: guest RAM (the template
 * file), the TCG translation cache (the one anonymous mapping that is writable and executable),
 * glibc's main heap and its per-thread arenas (64 MiB-aligned reservations), thread stacks (8 MiB,
 * glibc's default), QEMU's coroutine stacks (1 MiB), files (libraries, the binary) and any other
 * anonymous memory (large allocations glibc maps on their own). Heuristic, for benchmarks only.
 */
record SmapsGroups(Map<String, Usage> groups) {
  static final List<String> ORDER = List.of("guest RAM", "TCG cache", "heap", "arenas", "thread stacks", "coroutine stacks",
      "other anon", "files");

  /** Sums over the mappings of one group, in KiB. */
  record Usage(int mappings, long sizeKib, long rssKib, long pssKib, long privateDirtyKib) {
    Usage plus(Usage o) {
      return new Usage(mappings + o.mappings, sizeKib + o.sizeKib, rssKib + o.rssKib, pssKib + o.pssKib, privateDirtyKib + o.privateDirtyKib);
    }
  }

  private record Mapping(long start, long end, String perms, String path, Usage usage) {}

  private static final long ARENA = 64L << 20;

  static SmapsGroups of(long pid, Path ramFile) throws IOException {
    List<Mapping> maps = parse(Files.readAllLines(Path.of("/proc/" + pid + "/smaps")));
    Map<String, Usage> groups = new LinkedHashMap<>();
    for (String g : ORDER) {
      groups.put(g, new Usage(0, 0, 0, 0, 0));
    }
    for (int i = 0; i < maps.size(); i++) {
      Mapping m = maps.get(i);
      Mapping next = i + 1 < maps.size() ? maps.get(i + 1) : null;
      groups.merge(groupOf(m, next, ramFile.toString()), m.usage(), Usage::plus);
    }
    return new SmapsGroups(groups);
  }

  private static String groupOf(Mapping m, Mapping next, String ram) {
    long size = m.end() - m.start();
    if (m.path().equals(ram)) {
      return "guest RAM";
    }
    if (m.path().equals("[heap]")) {
      return "heap";
    }
    if (m.path().equals("[stack]")) {
      return "thread stacks";
    }
    if (!m.path().isEmpty()) {
      return m.path().startsWith("/") ? "files" : "other anon";
    }
    if (m.perms().startsWith("rwx")) {
      return "TCG cache";
    }
    // A glibc arena heap: a 64 MiB-aligned reservation, the used part read-write, the rest ---p.
    if (m.start() % ARENA == 0 && (size == ARENA || next != null && next.start() == m.end() && next.perms().startsWith("---")
        && next.end() % ARENA == 0 && next.path().isEmpty())) {
      return "arenas";
    }
    if (m.perms().startsWith("rw") && size == 8L << 20) {
      return "thread stacks";
    }
    if (m.perms().startsWith("rw") && size == 1L << 20) {
      return "coroutine stacks";
    }
    return "other anon";
  }

  private static List<Mapping> parse(List<String> lines) {
    List<Mapping> out = new ArrayList<>();
    long start = 0;
    long end = 0;
    String perms = "";
    String path = "";
    long rss = 0;
    long pss = 0;
    long dirty = 0;
    boolean have = false;
    for (String line : lines) {
      if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
        if (have) {
          out.add(new Mapping(start, end, perms, path, new Usage(1, (end - start) >> 10, rss, pss, dirty)));
        }
        String[] f = line.split("\\s+", 6);
        String[] range = f[0].split("-");
        start = Long.parseUnsignedLong(range[0], 16);
        end = Long.parseUnsignedLong(range[1], 16);
        perms = f[1];
        path = f.length > 5 ? f[5].strip() : "";
        rss = 0;
        pss = 0;
        dirty = 0;
        have = true;
      } else if (line.startsWith("Rss:")) {
        rss = kib(line);
      } else if (line.startsWith("Pss:")) {
        pss = kib(line);
      } else if (line.startsWith("Private_Dirty:")) {
        dirty = kib(line);
      }
    }
    if (have) {
      out.add(new Mapping(start, end, perms, path, new Usage(1, (end - start) >> 10, rss, pss, dirty)));
    }
    return out;
  }

  private static long kib(String line) {
    return Long.parseLong(line.replaceAll("\\D", ""));
  }

  /** The sum of several processes' groups (to average over forks). */
  static SmapsGroups sum(List<SmapsGroups> all) {
    Map<String, Usage> groups = new LinkedHashMap<>();
    for (SmapsGroups s : all) {
      s.groups().forEach((k, v) -> groups.merge(k, v, Usage::plus));
    }
    return new SmapsGroups(groups);
  }

  /** One line per group: mappings, size, Rss, Pss and Private_Dirty in MiB, divided by {@code n} processes. */
  String table(int n) {
    StringBuilder b = new StringBuilder(String.format("    %-17s %8s %10s %9s %9s %14s%n", "mapping group", "mappings", "size MiB",
        "Rss MiB", "Pss MiB", "Priv_Dirty MiB"));
    Usage total = new Usage(0, 0, 0, 0, 0);
    for (var e : groups.entrySet()) {
      Usage u = e.getValue();
      total = total.plus(u);
      b.append(row(e.getKey(), u, n));
    }
    return b.append(row("total", total, n)).toString();
  }

  private static String row(String name, Usage u, int n) {
    return String.format("    %-17s %8.1f %10.1f %9.1f %9.1f %14.1f%n", name, (double) u.mappings() / n, u.sizeKib() / 1024.0 / n,
        u.rssKib() / 1024.0 / n, u.pssKib() / 1024.0 / n, u.privateDirtyKib() / 1024.0 / n);
  }
}
