package dev.boxd.worker.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.net.Ipv4;
import dev.boxd.os.HostCommand;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.RunDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files of one VM on its worker: {@code vm.json} (what a restarted supervisor needs to
 * re-attach), the disk overlay, the SSH host key and the run directory with QEMU's sockets.
 */
record VmDirectory(Path dir) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * What is persisted about a VM. {@code powered} is the last power state asked for, so recovery
   * can tell a stopped VM from one whose QEMU died. {@code disk} is the top layer the VM writes
   * (null in records from before forks: {@code disk.qcow2}); {@code layers} are the frozen layers
   * under it that forks made, newest first, which may live in another VM's directory and are kept
   * while any VM's chain holds them. {@code pending} is what a crash would leave unfinished (null
   * when nothing is): recovery finishes or undoes it. {@code isolated}: its tap gets the rules of
   * an isolated VM (SPEC §12) whenever it is attached, after a restart too.
   */
  record Record(String id, String name, String owner, int vcpus, int memoryMib, String ip, String machineId,
      String goldenDir, String ramFile, String imageDir, boolean powered, String disk, List<String> layers, Pending pending,
      boolean isolated) {

    Record {
      layers = layers == null ? List.of() : List.copyOf(layers);
    }

    /** A VM that is not isolated (every record written before VMs could be reads so: the field is missing). */
    Record(String id, String name, String owner, int vcpus, int memoryMib, String ip, String machineId,
        String goldenDir, String ramFile, String imageDir, boolean powered, String disk, List<String> layers, Pending pending) {
      this(id, name, owner, vcpus, memoryMib, ip, machineId, goldenDir, ramFile, imageDir, powered, disk, layers, pending, false);
    }

    VmSpec spec() {
      return new VmSpec(id, name, owner, new MachineShape(vcpus, memoryMib), Ipv4.parse(ip), "", isolated);
    }

    Record withPowered(boolean value) {
      return new Record(id, name, owner, vcpus, memoryMib, ip, machineId, goldenDir, ramFile, imageDir, value, disk, layers, pending,
          isolated);
    }

    Record withPending(Pending value) {
      return new Record(id, name, owner, vcpus, memoryMib, ip, machineId, goldenDir, ramFile, imageDir, powered, disk, layers, value,
          isolated);
    }

    /** After a fork froze the current top layer: the VM writes {@code newTop}, over {@code layers}. */
    Record withDisk(Path newTop, List<String> newLayers) {
      return new Record(id, name, owner, vcpus, memoryMib, ip, machineId, goldenDir, ramFile, imageDir, powered, newTop.toString(),
          newLayers, pending, isolated);
    }
  }

  /** A step in progress that a crash would leave half done; written before the step, cleared after it. */
  enum Pending {
    /**
     * The VM is being made (create, warm-pool take, fork, restore from a snapshot): until its
     * identity is given it is not the VM the user asked for. Recovery removes what was made and
     * the reconciler makes it again.
     */
    MAKE,
    /**
     * The VM's own disk (or memory) runs but has not been given its identity yet (a cold boot):
     * recovery waits for its agent and gives it again.
     */
    IDENTITY
  }

  /** The first disk of a VM made from the image. */
  Path disk() {
    return dir.resolve("disk.qcow2");
  }

  /** Where a hibernated VM's memory, devices and disk layer are saved. */
  Path hibernation() {
    return dir.resolve("hibernation");
  }

  /** Whether a hibernation was saved completely (its manifest is written last). */
  boolean isHibernated() {
    return Files.isRegularFile(dev.boxd.vmm.SavedSnapshot.manifest(hibernation()));
  }

  /** A fresh name for the layer the VM writes next, when a fork or a save freezes the current one. */
  Path newTopLayer() {
    return dir.resolve("disk-" + newMachineId().substring(0, 12) + ".qcow2");
  }

  /** The layer the VM writes now. */
  Path topDisk(Record record) {
    return record.disk() == null ? disk() : Path.of(record.disk());
  }

  Path hostKey() {
    return dir.resolve("ssh_host_ed25519_key");
  }

  Path hostKeyPub() {
    return dir.resolve("ssh_host_ed25519_key.pub");
  }

  RunDir runDir() {
    return new RunDir(dir.resolve("run"));
  }

  Path recordFile() {
    return dir.resolve("vm.json");
  }

  boolean exists() {
    return Files.isRegularFile(recordFile());
  }

  Record read() {
    try {
      return JSON.readValue(recordFile().toFile(), Record.class);
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable VM record " + recordFile() + ": " + e.getMessage(), e);
    }
  }

  /** Written to a temporary file and renamed, so a crash never leaves half a record. */
  void write(Record record) {
    try {
      Files.createDirectories(dir);
      Path tmp = dir.resolve("vm.json.tmp");
      JSON.writeValue(tmp.toFile(), record);
      Files.move(tmp, recordFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A fresh host key per VM, generated on the host (fast) and handed to the guest. */
  void generateHostKey(String comment) {
    HostCommand.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", hostKey().toString());
  }

  static String newMachineId() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  void delete() {
    dev.boxd.os.Trees.delete(dir);
  }

  /**
   * Ends the QEMU this directory's pid file names, if that process still is this VM's QEMU, waits
   * until it is gone (its tap and disk locks are free only then) and removes its cgroup. For a
   * QEMU the runtime holds no connection to: a dead supervisor's, or one recovery could not reach.
   */
  void killRecordedQemu() {
    dev.boxd.vmm.QemuVm.killUnattached(runDir());
  }


}
