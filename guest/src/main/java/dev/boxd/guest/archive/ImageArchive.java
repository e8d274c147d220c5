package dev.boxd.guest.archive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.os.HostCommand;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * An archive to make an image of: a root file system tarball ({@code .tar}, {@code .tar.gz}) or
 * a {@code docker save} archive ({@code manifest.json} naming layer tars, applied in order with
 * their whiteouts). {@link #open} reads and checks all of it ({@link RootTree}) before anything is
 * unpacked, so a bad archive fails with nothing written; {@link #unpack} then applies each layer's
 * whiteouts and has GNU tar write its entries (owners, modes, devices, extended attributes).
 */
public final class ImageArchive {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MANIFEST_LIMIT = 4 << 20;

  /** One layer: a tar file (maybe gzip-compressed) and the whiteouts to apply before it. */
  public record Layer(Path file, String label, List<RootTree.Whiteout> whiteouts) {}

  /** What kind of archive it was. */
  public enum Kind { ROOTFS_TAR, DOCKER_SAVE }

  private final Kind kind;
  private final List<Layer> layers;
  private final RootTree tree;

  private ImageArchive(Kind kind, List<Layer> layers, RootTree tree) {
    this.kind = kind;
    this.layers = List.copyOf(layers);
    this.tree = tree;
  }

  public Kind kind() {
    return kind;
  }

  public List<Layer> layers() {
    return layers;
  }

  /** The root file system the layers make, as far as the checks need it. */
  public RootTree tree() {
    return tree;
  }

  /**
   * Reads and checks {@code archive}. The layers of a {@code docker save} archive are copied into
   * {@code scratch} (a directory the caller removes); a root file system tarball is read in place.
   */
  public static ImageArchive open(Path archive, Path scratch) throws IOException {
    if (!Files.isRegularFile(archive)) {
      throw new ArchiveException("no such file: " + archive + " (expected a root file system .tar/.tar.gz or a docker save archive)");
    }
    String label = archive.getFileName().toString();
    Optional<byte[]> manifest = findManifest(archive, label);
    if (manifest.isEmpty()) {
      RootTree tree = new RootTree();
      List<RootTree.Whiteout> whiteouts = check(archive, label, tree);
      return new ImageArchive(Kind.ROOTFS_TAR, List.of(new Layer(archive, label, whiteouts)), tree);
    }
    List<String> layerNames = layerNames(manifest.get(), label);
    Map<String, Path> copied = copyLayers(archive, label, layerNames, scratch);
    RootTree tree = new RootTree();
    List<Layer> layers = new ArrayList<>();
    for (String name : layerNames) {
      Path file = copied.get(name);
      if (file == null) {
        throw new ArchiveException(label + ": manifest.json names the layer " + name + ", which the archive does not hold");
      }
      String layerLabel = label + " layer " + name;
      layers.add(new Layer(file, layerLabel, check(file, layerLabel, tree)));
    }
    return new ImageArchive(Kind.DOCKER_SAVE, layers, tree);
  }

  /** Unpacks the layers in order into {@code root} (an empty directory), as root. */
  public void unpack(Path root) throws IOException {
    for (Layer layer : layers) {
      for (RootTree.Whiteout w : layer.whiteouts()) {
        removeBelow(root, root.resolve(w.path()), w.opaque());
      }
      HostCommand.run("tar", "--extract", "--file=" + layer.file(), "--directory=" + root, "--numeric-owner",
          "--same-owner", "--preserve-permissions", "--xattrs", "--xattrs-include=*", "--exclude=.wh.*");
    }
  }

  // A whiteout removes a path of the layers below (or, opaque, what its directory held). The
  // path lies below no link (RootTree refused that), so nothing here leaves the root.
  private static void removeBelow(Path root, Path target, boolean opaque) throws IOException {
    if (!target.normalize().startsWith(root)) {
      throw new ArchiveException("whiteout " + target + " lies outside the root");
    }
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      if (!opaque) {
        Files.delete(target);
      }
      return;
    }
    Files.walkFileTree(target, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        if (!(opaque && dir.equals(target))) {
          Files.delete(dir);
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static InputStream openTar(Path file) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    raw.mark(2);
    int b1 = raw.read();
    int b2 = raw.read();
    raw.reset();
    if (b1 == 0x1f && b2 == 0x8b) {
      try {
        return new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16);
      } catch (IOException e) {
        raw.close();
        throw new ArchiveException(file.getFileName() + " starts as gzip but cannot be read: " + e.getMessage());
      }
    }
    return raw;
  }

  // Reads the whole archive once: a docker save archive has manifest.json at its top.
  private static Optional<byte[]> findManifest(Path archive, String label) throws IOException {
    byte[] manifest = null;
    try (InputStream in = openTar(archive)) {
      TarReader tar = new TarReader(in, label);
      for (var e = tar.next(); e.isPresent(); e = tar.next()) {
        if (e.get().name().equals("manifest.json") && e.get().type() == TarReader.Type.FILE) {
          manifest = tar.data(MANIFEST_LIMIT);
        }
      }
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new ArchiveException(label + " is truncated or corrupt (gzip: " + e.getMessage() + ")");
    }
    return Optional.ofNullable(manifest);
  }

  private static List<String> layerNames(byte[] manifest, String label) {
    JsonNode root;
    try {
      root = JSON.readTree(manifest);
    } catch (IOException e) {
      throw new ArchiveException(label + ": manifest.json is not JSON: " + e.getMessage());
    }
    if (!root.isArray() || root.isEmpty()) {
      throw new ArchiveException(label + ": manifest.json holds no image (expected [{\"Config\": …, \"Layers\": […]}])");
    }
    if (root.size() > 1) {
      throw new ArchiveException(label + ": manifest.json holds " + root.size() + " images; save one image per archive");
    }
    JsonNode layers = root.get(0).path("Layers");
    if (!layers.isArray() || layers.isEmpty()) {
      throw new ArchiveException(label + ": manifest.json names no layers");
    }
    List<String> names = new ArrayList<>();
    for (JsonNode layer : layers) {
      if (!layer.isTextual()) {
        throw new ArchiveException(label + ": manifest.json has a layer that is not a path: " + layer);
      }
      names.add(RootTree.normalize(layer.asText(), label + " manifest.json"));
    }
    return names;
  }

  private static Map<String, Path> copyLayers(Path archive, String label, List<String> wanted, Path scratch) throws IOException {
    Map<String, Path> copied = new HashMap<>();
    Files.createDirectories(scratch);
    try (InputStream in = openTar(archive)) {
      TarReader tar = new TarReader(in, label);
      for (var e = tar.next(); e.isPresent(); e = tar.next()) {
        TarReader.Entry entry = e.get();
        String name = RootTree.normalize(entry.name(), label); // a traversing name is refused here too
        if (entry.type() == TarReader.Type.FILE && wanted.contains(name) && !copied.containsKey(name)) {
          Path file = scratch.resolve("layer-" + copied.size() + ".tar");
          try (OutputStream out = Files.newOutputStream(file)) {
            tar.copyData(out);
          }
          copied.put(name, file);
        }
      }
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new ArchiveException(label + " is truncated or corrupt (gzip: " + e.getMessage() + ")");
    }
    // the same file named as several layers: once each, in order
    return copied;
  }

  private static List<RootTree.Whiteout> check(Path file, String label, RootTree tree) throws IOException {
    List<RootTree.Whiteout> whiteouts = new ArrayList<>();
    try (InputStream in = openTar(file)) {
      TarReader tar = new TarReader(in, label);
      for (var e = tar.next(); e.isPresent(); e = tar.next()) {
        tree.add(e.get(), label).ifPresent(whiteouts::add);
      }
    } catch (java.util.zip.ZipException | java.io.EOFException e) {
      throw new ArchiveException(label + " is truncated or corrupt (gzip: " + e.getMessage() + ")");
    }
    return whiteouts;
  }
}
