package dev.boxd.vmm.cgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's control groups, as far as boxd puts each QEMU in its own: which version the host
 * runs, where VM groups are made, and making, finding and removing them.
 *
 * <p>Version 2 (Debian 12's only one): VM groups are {@code boxd/<name>} under the root of the
 * unified hierarchy, with the cpu and memory controllers enabled for {@code boxd}. Not under the
 * server's own group: a v2 group that holds processes cannot hand controllers to children. A
 * group outside the server's also lets VMs outlive a server stopped by its service manager, as
 * they are meant to (QEMU runs in its own session for that).
 *
 * <p>Version 1 (separate cpu and memory hierarchies, as on hosts with the legacy or hybrid layout):
 * VM groups are {@code boxd/<name>} under the server's own group in each of the two; v1 has no rule
 * against that, and VMs then stay inside whatever limits or accounting the server itself is in.
 *
 * <p>Where neither cpu nor memory can be controlled (no cgroup file system, not root), VMs run
 * without a group of their own and {@link #describe} says so.
 */
public final class Cgroups {
  private static final Logger log = LoggerFactory.getLogger(Cgroups.class);
  static final String PARENT = "boxd";
  private static volatile Cgroups host;

  /** Which cgroup version VMs are limited with. */
  public enum Version {
    V1, V2, NONE
  }

  private final Version version;
  /** The directories VM groups are made in: one per hierarchy (v1: cpu, memory; v2: the unified one). */
  private final Map<String, Path> parents;
  /** The mount of each hierarchy in {@link #parents}, to find the directory of another process's group. */
  private final Map<String, CgroupMounts.Mount> mounts;
  private final String reason;

  Cgroups(Version version, Map<String, Path> parents, Map<String, CgroupMounts.Mount> mounts, String reason) {
    this.version = version;
    this.parents = parents;
    this.mounts = mounts;
    this.reason = reason;
  }

  /** This host's, detected once. */
  public static Cgroups host() {
    Cgroups known = host;
    if (known == null) {
      synchronized (Cgroups.class) {
        known = host;
        if (known == null) {
          known = detect(Path.of("/proc/self/mountinfo"), Path.of("/proc/self/cgroup")).usable();
          host = known;
        }
      }
    }
    return known;
  }

  static Cgroups detect(Path mountinfo, Path ownCgroups) {
    try {
      var mounts = CgroupMounts.parse(Files.readAllLines(mountinfo));
      var own = CgroupMounts.ownPaths(Files.readAllLines(ownCgroups));
      return choose(mounts, own);
    } catch (IOException | RuntimeException e) {
      return new Cgroups(Version.NONE, Map.of(), Map.of(), "cannot read the cgroup mounts: " + e.getMessage());
    }
  }

  static Cgroups choose(CgroupMounts mounts, Map<String, String> own) {
    Optional<CgroupMounts.Mount> unified = mounts.unified();
    if (unified.isPresent() && controllers(unified.get().dirOf("/")).containsAll(List.of("cpu", "memory"))) {
      Path root = unified.get().dirOf("/");
      return new Cgroups(Version.V2, Map.of(CgroupMounts.UNIFIED, root.resolve(PARENT)), Map.of(CgroupMounts.UNIFIED, unified.get()),
          "cgroup v2 at " + root);
    }
    Optional<CgroupMounts.Mount> cpu = mounts.v1("cpu");
    Optional<CgroupMounts.Mount> memory = mounts.v1("memory");
    if (cpu.isPresent() && memory.isPresent()) {
      Map<String, Path> parents = new LinkedHashMap<>();
      parents.put("cpu", cpu.get().dirOf(own.getOrDefault("cpu", "/")).resolve(PARENT));
      parents.put("memory", memory.get().dirOf(own.getOrDefault("memory", "/")).resolve(PARENT));
      return new Cgroups(Version.V1, parents, Map.of("cpu", cpu.get(), "memory", memory.get()), "cgroup v1");
    }
    return new Cgroups(Version.NONE, Map.of(), Map.of(), unified.isPresent()
        ? "cgroup v2 at " + unified.get().dirOf("/") + " does not offer the cpu and memory controllers, and there is no v1 cpu and memory hierarchy"
        : "no cgroup file system with the cpu and memory controllers is mounted");
  }

  /**
   * This, if VM groups can be made where it says (the parents exist or can be made, with the
   * controllers handed down), else no groups and why: not root, or a v2 group of a container that
   * holds processes and so cannot hand controllers to children. VMs then run without limits
   * rather than not at all; {@code boxd doctor} shows it.
   */
  Cgroups usable() {
    try {
      for (Path parent : parents.values()) {
        prepareParent(parent);
      }
      return this;
    } catch (IOException | RuntimeException e) {
      return new Cgroups(Version.NONE, Map.of(), Map.of(), describe() + " is not usable: cannot make " + parents.values() + ": " + e);
    }
  }

  private static List<String> controllers(Path dir) {
    try {
      return List.of(Files.readString(dir.resolve("cgroup.controllers")).strip().split("\\s+"));
    } catch (IOException e) {
      return List.of();
    }
  }

  public Version version() {
    return version;
  }

  /** For logs and {@code boxd doctor}: the version and where VM groups go, or why there are none. */
  public String describe() {
    return switch (version) {
      case NONE -> "none: VMs run without cpu and memory limits (" + reason + ")";
      case V1, V2 -> version.name().toLowerCase() + ": each VM in its own group under " + String.join(" and ",
          parents.values().stream().map(Path::toString).toList());
    };
  }

  /**
   * Makes the group {@code name} with these limits (after removing an empty leftover of that
   * name), or returns empty where the host has no usable cgroups.
   */
  public Optional<VmCgroup> create(String name, CgroupLimits limits) {
    if (version == Version.NONE) {
      return Optional.empty();
    }
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,200}")) {
      throw new IllegalArgumentException("invalid cgroup name " + name);
    }
    List<Path> dirs = new ArrayList<>();
    try {
      for (var parent : parents.entrySet()) {
        prepareParent(parent.getValue());
        Path dir = parent.getValue().resolve(name);
        if (Files.isDirectory(dir)) {
          removeDir(dir, Duration.ofSeconds(2)); // a leftover of a QEMU that exited without a supervisor
        }
        Files.createDirectory(dir);
        dirs.add(dir);
      }
      VmCgroup group = new VmCgroup(version, dirs);
      group.apply(limits);
      return Optional.of(group);
    } catch (IOException | RuntimeException e) {
      dirs.forEach(d -> removeDir(d, Duration.ZERO));
      throw new UncheckedIOException("cannot make the cgroup " + name + " for a VM (" + describe() + "): " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  private void prepareParent(Path parent) throws IOException {
    if (!Files.isDirectory(parent)) {
      try {
        Files.createDirectory(parent);
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // another server on this host made it at the same moment
      }
    }
    if (version == Version.V2) {
      // Controllers reach a group only if every ancestor hands them down.
      enable(parent.getParent());
      enable(parent);
    }
  }

  private static void enable(Path dir) throws IOException {
    Path control = dir.resolve("cgroup.subtree_control");
    List<String> on = List.of(Files.readString(control).strip().split("\\s+"));
    if (!on.contains("cpu") || !on.contains("memory")) {
      Files.writeString(control, "+cpu +memory", StandardOpenOption.WRITE);
    }
  }

  /** The group process {@code pid} is in, if it is a VM group of this host's kind. */
  public Optional<VmCgroup> of(long pid) {
    if (version == Version.NONE) {
      return Optional.empty();
    }
    try {
      var paths = CgroupMounts.ownPaths(Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")));
      List<Path> dirs = new ArrayList<>();
      for (var parent : parents.entrySet()) {
        String path = paths.get(parent.getKey());
        if (path == null) {
          return Optional.empty();
        }
        Path group = Path.of(path);
        Path dir = mounts.get(parent.getKey()).dirOf(path);
        if (group.getParent() == null || !group.getParent().endsWith(PARENT) || !Files.isDirectory(dir)) {
          return Optional.empty(); // not in a VM group (started unconfined, or by an older server)
        }
        dirs.add(dir);
      }
      return Optional.of(new VmCgroup(version, dirs));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Removes a VM's group once its processes are gone, waiting up to {@code wait} for them to leave it. */
  public static void remove(VmCgroup group, Duration wait) {
    group.dirs().forEach(dir -> removeDir(dir, wait));
  }

  private static void removeDir(Path dir, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      try {
        Files.deleteIfExists(dir);
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          log.warn("cannot remove the cgroup {}: {}", dir, e.getMessage());
          return;
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /**
   * Removes VM groups that no process is in any more and that are older than {@code minAge}
   * (left when a QEMU ended while no supervisor watched it); a younger one may belong to a VM
   * another server on this host is starting now.
   */
  public void sweep(Duration minAge) {
    for (Path parent : parents.values()) {
      if (!Files.isDirectory(parent)) {
        continue;
      }
      try (Stream<Path> groups = Files.list(parent)) {
        for (Path group : groups.filter(Files::isDirectory).toList()) {
          Instant made = Files.getLastModifiedTime(group).toInstant();
          if (made.isBefore(Instant.now().minus(minAge)) && Files.readString(group.resolve("cgroup.procs")).isBlank()) {
            removeDir(group, Duration.ZERO);
          }
        }
      } catch (IOException e) {
        log.warn("cannot sweep the VM cgroups under {}: {}", parent, e.getMessage());
      }
    }
  }
}
