package dev.boxd.vmm.cgroup;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The cgroup file systems of {@code /proc/self/mountinfo}, and a process's groups from {@code /proc/PID/cgroup}. */
record CgroupMounts(Optional<Mount> unified, Map<String, Mount> v1) {
  /** The key of the v2 hierarchy in {@link #ownPaths}. */
  static final String UNIFIED = "unified";

  /**
   * One mounted hierarchy: {@code root} is the group shown at {@code mountPoint} (not "/" inside a
   * container that sees only its own subtree).
   */
  record Mount(Path mountPoint, String root) {
    /** The directory of the group {@code path} (as /proc/PID/cgroup names it). */
    Path dirOf(String path) {
      String relative = path;
      if (!root.equals("/") && (path.equals(root) || path.startsWith(root + "/"))) {
        relative = path.substring(root.length());
      }
      relative = relative.replaceFirst("^/+", "");
      return relative.isEmpty() ? mountPoint : mountPoint.resolve(relative);
    }
  }

  Optional<Mount> v1(String controller) {
    return Optional.ofNullable(v1.get(controller));
  }

  /** Parses mountinfo lines: {@code id parent major:minor root mountpoint options ... - fstype source superoptions}. */
  static CgroupMounts parse(List<String> mountinfo) {
    Mount unified = null;
    Map<String, Mount> v1 = new HashMap<>();
    for (String line : mountinfo) {
      String[] halves = line.split(" - ", 2);
      if (halves.length < 2) {
        continue;
      }
      String[] fields = halves[0].split(" ");
      String[] after = halves[1].split(" ");
      if (fields.length < 5 || after.length < 3) {
        continue;
      }
      Mount mount = new Mount(Path.of(unescape(fields[4])), unescape(fields[3]));
      if (after[0].equals("cgroup2")) {
        if (unified == null || mount.mountPoint().equals(Path.of("/sys/fs/cgroup"))) {
          unified = mount;
        }
      } else if (after[0].equals("cgroup")) {
        for (String option : after[2].split(",")) {
          if (option.equals("cpu") || option.equals("memory")) {
            v1.putIfAbsent(option, mount);
          }
        }
      }
    }
    return new CgroupMounts(Optional.ofNullable(unified), v1);
  }

  /** Parses /proc/PID/cgroup: {@code id:controllers:path}; the v2 line ({@code 0::path}) is under {@link #UNIFIED}. */
  static Map<String, String> ownPaths(List<String> lines) {
    Map<String, String> paths = new HashMap<>();
    for (String line : lines) {
      String[] parts = line.split(":", 3);
      if (parts.length < 3) {
        continue;
      }
      if (parts[0].equals("0") && parts[1].isEmpty()) {
        paths.put(UNIFIED, parts[2]);
      }
      for (String controller : parts[1].split(",")) {
        if (!controller.isEmpty()) {
          paths.put(controller, parts[2]);
        }
      }
    }
    return paths;
  }

  // mountinfo escapes space, tab, newline and backslash as octal.
  private static String unescape(String field) {
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
  }
}
