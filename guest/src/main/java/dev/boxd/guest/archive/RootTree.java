package dev.boxd.guest.archive;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the root file system will hold once the layers are unpacked in order, by path, checked
 * entry by entry before anything is written to disk. It refuses what could write outside the
 * root when unpacked as root: an absolute name or one with a {@code ..} component, an entry
 * below a symbolic link (the link could lead anywhere on the host), a relative link that climbs
 * above the root, and a hard link to a name outside it. Whiteouts ({@code .wh.NAME} removes NAME
 * of the layers below, {@code .wh..wh..opq} empties its directory) are applied to the model as
 * the real unpacking applies them.
 */
public final class RootTree {
  /** A whiteout of one layer, to apply on disk before that layer's entries are unpacked. */
  public record Whiteout(String path, boolean opaque) {}

  private final Map<String, TarReader.Type> paths = new HashMap<>();

  /**
   * Checks one entry of {@code layer} and records it; returns the whiteout it is, if it is one.
   *
   * @throws ArchiveException naming the entry and the layer when it is unsafe
   */
  public Optional<Whiteout> add(TarReader.Entry entry, String layer) {
    String path = normalize(entry.name(), layer);
    if (path.isEmpty()) {
      return Optional.empty(); // the root itself
    }
    String parent = parentOf(path);
    String base = path.substring(parent.isEmpty() ? 0 : parent.length() + 1);
    requireNoLinkAbove(path, layer);
    if (base.equals(".wh..wh..opq")) {
      String dir = parent;
      paths.keySet().removeIf(p -> !dir.isEmpty() ? p.startsWith(dir + "/") : true);
      return Optional.of(new Whiteout(dir, true));
    }
    if (base.startsWith(".wh.")) {
      String target = (parent.isEmpty() ? "" : parent + "/") + base.substring(4);
      if (base.length() == 4 || target.endsWith("/..") || base.equals(".wh..") || base.equals(".wh...")) {
        throw new ArchiveException(layer + ": whiteout " + entry.name() + " names no file");
      }
      remove(target);
      return Optional.of(new Whiteout(target, false));
    }
    switch (entry.type()) {
      case SYMLINK -> requireLinkInside(path, entry.linkName(), layer);
      case HARDLINK -> {
        String target = normalize(entry.linkName(), layer);
        requireNoLinkAbove(target, layer);
      }
      default -> {
      }
    }
    // a file or link replacing a directory replaces what was below it too
    if (entry.type() != TarReader.Type.DIRECTORY) {
      remove(path);
    }
    paths.put(path, entry.type());
    for (String p = parent; !p.isEmpty(); p = parentOf(p)) {
      paths.putIfAbsent(p, TarReader.Type.DIRECTORY);
    }
    return Optional.empty();
  }

  /** Whether {@code path} (relative, normalized) will exist. */
  public boolean contains(String path) {
    return paths.containsKey(path);
  }

  /** The type {@code path} will have, if it exists. */
  public Optional<TarReader.Type> typeOf(String path) {
    return Optional.ofNullable(paths.get(path));
  }

  private void remove(String path) {
    // only a directory has anything below it: a scan per replaced file would be quadratic
    if (paths.remove(path) == TarReader.Type.DIRECTORY) {
      paths.keySet().removeIf(p -> p.startsWith(path + "/"));
    }
  }

  private void requireNoLinkAbove(String path, String layer) {
    for (String p = parentOf(path); !p.isEmpty(); p = parentOf(p)) {
      if (paths.get(p) == TarReader.Type.SYMLINK) {
        throw new ArchiveException(layer + ": " + path + " lies below the symbolic link " + p
            + " (a symlink escape: unpacking it would write wherever the link leads)");
      }
    }
  }

  private static void requireLinkInside(String path, String target, String layer) {
    if (target.isEmpty()) {
      throw new ArchiveException(layer + ": symbolic link " + path + " has no target");
    }
    if (target.startsWith("/")) {
      return; // resolved inside the guest's root at run time; nothing on the host follows it
    }
    List<String> parts = new ArrayList<>(List.of(parentOf(path).isEmpty() ? new String[0] : parentOf(path).split("/")));
    for (String part : target.split("/")) {
      if (part.equals("..")) {
        if (parts.isEmpty()) {
          throw new ArchiveException(layer + ": symbolic link " + path + " -> " + target
              + " climbs above the root (a symlink escape)");
        }
        parts.removeLast();
      } else if (!part.isEmpty() && !part.equals(".")) {
        parts.add(part);
      }
    }
  }

  /** The entry's path relative to the root, without {@code ./} or a trailing slash. */
  static String normalize(String name, String layer) {
    if (name.startsWith("/")) {
      throw new ArchiveException(layer + ": entry " + name + " has an absolute path (path traversal)");
    }
    List<String> parts = new ArrayList<>();
    for (String part : name.split("/")) {
      if (part.equals("..")) {
        throw new ArchiveException(layer + ": entry " + name + " has a '..' component (path traversal)");
      }
      if (!part.isEmpty() && !part.equals(".")) {
        parts.add(part);
      }
    }
    return String.join("/", parts);
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }
}
