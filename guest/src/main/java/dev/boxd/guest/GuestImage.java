package dev.boxd.guest;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.BoxdException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A built guest image: the uncompressed PVH kernel, the initramfs that loads the virtio modules,
 * and the ext4 root filesystem every VM's disk is a copy-on-write overlay of.
 *
 * @param hash content hash of the recipe that built it (the cache key)
 */
public record GuestImage(String hash, Path dir) {
  public Path kernel() {
    return dir.resolve("vmlinux");
  }

  public Path initrd() {
    return dir.resolve("initrd.img");
  }

  public Path rootfs() {
    return dir.resolve("rootfs.img");
  }

  public Path manifest() {
    return dir.resolve("manifest.json");
  }

  /** The recipe it was built from, as its manifest says (images built before recipes had names say nothing). */
  public Optional<String> recipe() {
    try {
      var node = new ObjectMapper().readTree(manifest().toFile()).path("recipe");
      return node.isTextual() ? Optional.of(node.asText()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Whether it was imported ({@code boxd image import}) rather than built from a recipe. */
  public boolean imported() {
    try {
      return new ObjectMapper().readTree(manifest().toFile()).has("imported");
    } catch (IOException e) {
      return false;
    }
  }

  /** Short form of the hash, used in names. */
  public String shortHash() {
    return hash.substring(0, 12);
  }

  /**
   * Checks that the files are what they claim to be, so a truncated or foreign image fails here
   * with a message naming the file rather than as a guest that never boots.
   */
  public GuestImage validate() {
    requireMagic(kernel(), 0, new byte[] {0x7f, 'E', 'L', 'F'}, "an ELF kernel (vmlinux)");
    requireMagic(rootfs(), 1080, new byte[] {0x53, (byte) 0xEF}, "an ext4 filesystem");
    if (!Files.isRegularFile(initrd())) {
      throw BoxdException.invalid("malformed image " + dir + ": missing " + initrd().getFileName());
    }
    return this;
  }

  private static void requireMagic(Path file, long offset, byte[] magic, String expected) {
    if (!Files.isRegularFile(file)) {
      throw BoxdException.invalid("malformed image: missing " + file);
    }
    try (var raf = new RandomAccessFile(file.toFile(), "r")) {
      byte[] found = new byte[magic.length];
      if (raf.length() < offset + magic.length) {
        throw BoxdException.invalid("malformed image: " + file + " is too short to be " + expected);
      }
      raf.seek(offset);
      raf.readFully(found);
      if (!java.util.Arrays.equals(found, magic)) {
        throw BoxdException.invalid("malformed image: " + file + " is not " + expected);
      }
    } catch (IOException e) {
      throw BoxdException.invalid("malformed image: cannot read " + file + ": " + e.getMessage());
    }
  }
}
