package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Everything that decides a QEMU command line. Two launches that differ only in RAM sharing, disk,
 * tap, MAC and {@code incoming} have identical devices, which is what lets a snapshot of one be
 * restored into the other.
 *
 * @param ramFile guest RAM backing file (in /dev/shm); {@code ramShared} maps it shared (a golden
 *     being written) or private copy-on-write (every VM, over its golden's immutable RAM)
 * @param tap tap device to attach, or empty for an unconnected NIC (the golden)
 * @param incoming whether to start paused, waiting for {@code migrate-incoming} of device state
 * @param runAs the user QEMU becomes once its files are open ({@link QemuUser}); empty: stays who started it
 */
public record QemuLaunch(String name, Accelerator accelerator, MachineShape shape, Path kernel, Path initrd,
    String kernelArgs, Path ramFile, boolean ramShared, Path disk, Optional<String> tap, String mac,
    RunDir runDir, Incoming incoming, Optional<String> runAs) {

  /** What a launch waits for before the guest runs. */
  public enum Incoming {
    /** Nothing: the guest boots. */
    NONE,
    /** A migration stream as {@code migrate} writes it (a golden's device state). */
    MIGRATION,
    /**
     * Device state alone, as {@code xen-save-devices-state} writes it: no configuration section,
     * so QEMU must not expect one. Guest RAM is put in place beforehand (a memory delta).
     */
    DEVICES_ONLY
  }
}
