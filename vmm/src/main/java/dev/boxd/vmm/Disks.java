package dev.boxd.vmm;

import dev.boxd.os.HostCommand;
import java.nio.file.Path;

/** qcow2 disks: every VM's disk is a sparse copy-on-write overlay over a shared read-only base. */
public final class Disks {
  /** The size every VM's disk presents to the guest: 100 GB, sparse. */
  public static final long STANDARD_SIZE = 100L * 1024 * 1024 * 1024;

  private Disks() {}

  public static void createOverlay(Path backing, String backingFormat, Path overlay, long sizeBytes) {
    HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=65536,lazy_refcounts=on",
        "-b", backing.toAbsolutePath().toString(), "-F", backingFormat, overlay.toString(), Long.toString(sizeBytes));
  }

  /**
   * An overlay over a qcow2 layer that a running QEMU may still be writing (it is frozen before
   * anything reads through the overlay): the backing file is named, not opened, so its lock is
   * not asked for.
   */
  public static void createOverlayOnLive(Path backing, Path overlay, long sizeBytes) {
    HostCommand.run("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-o", "cluster_size=65536,lazy_refcounts=on",
        "-b", backing.toAbsolutePath().toString(), "-F", "qcow2", overlay.toString(), Long.toString(sizeBytes));
  }

  /**
   * Makes {@code base} the backing file of {@code top}, first copying into {@code top} whatever the
   * layers between them hold that {@code base} does not (qemu-img's safe rebase): what the disk
   * reads is unchanged, and those layers are no longer read through {@code top}. Only while no
   * QEMU has {@code top} open.
   */
  public static void rebase(Path top, Path base) {
    HostCommand.run("qemu-img", "rebase", "-q", "-f", "qcow2", "-b", base.toAbsolutePath().toString(), "-F", "qcow2", top.toString());
  }
}
