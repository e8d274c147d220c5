package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import dev.boxd.guest.GuestImage;
import java.nio.file.Path;

/**
 * A booted base image frozen right after boot: its RAM (an immutable file in /dev/shm that every
 * VM maps private copy-on-write), its device state (~60 KiB) and its disk (the backing file of
 * every VM disk restored from it). Creating a VM restores this instead of booting.
 */
public record Golden(Path dir, GuestImage image, MachineShape shape, Path ramFile) {
  public Path disk() {
    return dir.resolve("disk.qcow2");
  }

  public Path deviceState() {
    return dir.resolve("devices.state");
  }

  public Path readyMarker() {
    return dir.resolve("ready");
  }

  /** RAM files are {@code /dev/shm/boxd-golden-<digest of the golden directory>.ram}. */
  static final String RAM_PREFIX = "boxd-golden-";
  static final String RAM_SUFFIX = ".ram";

  /**
   * The file beside the RAM file that names the golden directory it belongs to: how a worker
   * knows, at start, that a RAM file's golden is gone ({@link GoldenClaims#removeOrphanRam}).
   */
  public Path ownerFile() {
    return ownerFileOf(ramFile);
  }

  static Path ownerFileOf(Path ramFile) {
    String name = ramFile.getFileName().toString();
    return ramFile.resolveSibling(name.substring(0, name.length() - RAM_SUFFIX.length()) + ".dir");
  }

  /** The MAC the golden's NIC had; every restored VM replaces it. */
  static final String PLACEHOLDER_MAC = "02:b0:00:00:00:01";
}
