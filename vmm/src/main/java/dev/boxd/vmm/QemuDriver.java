package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.guest.GuestImage;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.cgroup.CgroupLimits;
import dev.boxd.vmm.cgroup.Cgroups;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts QEMU for boxd: cold boots, golden snapshots, and restores from them. It knows nothing of
 * owners, names or networks beyond the tap and MAC it is handed.
 */
public final class QemuDriver {
  private static final Logger log = LoggerFactory.getLogger(QemuDriver.class);
  /** Generous: a cold boot under TCG on a busy 2-core machine takes seconds, not minutes. */
  static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);
  /** Bumped whenever how a golden is made changes, so old goldens are not restored by new code. */
  static final String GOLDEN_FORMAT = "g4";

  /**
   * What a QEMU needs beyond its guest's RAM, for its memory limit. Measured under TCG (the larger
   * case: its translation cache is up to 32 MiB; KVM has none): an idle 1 GiB VM's QEMU, restored
   * or forked, held 53 MiB of anonymous memory besides guest RAM and 75 MiB resident with its
   * libraries; its group was charged 63 MiB in all, 8.5 MiB of it the guest's private pages.
   * Page tables add 2 MiB per GiB of guest RAM touched. 256 MiB leaves room for disk and network
   * buffers under load.
   */
  static final long QEMU_OVERHEAD_BYTES = 256L << 20;

  private final Accelerator.Choice accelerator;
  private final String kernelArgs;
  private final Optional<String> runAs;
  private final Cgroups cgroups;
  private volatile Map<String, String> launchEnvironment = Map.of();

  public QemuDriver(Accelerator.Choice accelerator) {
    this.accelerator = accelerator;
    this.kernelArgs = KernelArgs.forGuest();
    this.runAs = QemuUser.ensure();
    this.cgroups = Cgroups.host();
    cgroups.sweep(Duration.ofMinutes(1));
    log.info("accelerator {}: {}", accelerator.accelerator(), accelerator.reason());
    log.info("QEMU runs as {}, in a seccomp sandbox; cgroups {}", runAs.orElse("this process's user"), cgroups.describe());
  }

  /**
   * The memory limit of a VM's group: guest RAM twice, plus QEMU's own. Once for the VM's private
   * copies of the pages it wrote, and once for pages of the golden's RAM file that it is the first
   * to touch: the file is shared, but each of its pages is charged to the group that first faults
   * it in (reading a page the golden never wrote adds it to the file), and such a page cannot be
   * reclaimed without swap. Together they cannot exceed twice the guest's RAM, so a guest that
   * only uses its own memory is never killed, and one QEMU cannot take more than that. Measured
   * (1 GiB VM, TCG): 42 MiB charged idle; after the guest wrote 200 MiB, 331 MiB, of which 65 MiB
   * were golden RAM file pages this VM faulted in first.
   */
  public static CgroupLimits limitsOf(MachineShape shape) {
    return CgroupLimits.forVm(shape.vcpus(), 2 * ((long) shape.memoryMib() << 20) + QEMU_OVERHEAD_BYTES);
  }

  /**
   * Starts every QEMU launched from now on with a small preloaded library (built once into
   * {@code libraryDir} with gcc) that gives it a userfaultfd: forks of those VMs then copy the
   * parent's pages ahead while it runs and, while it is stopped, read only the pages written
   * since (parent downtime no longer grows with its memory). Returns whether it is on; without a
   * C compiler it is not, and forks read every private page while the parent is stopped.
   */
  public boolean trackForkWrites(Path libraryDir) {
    var library = dev.boxd.vmm.memory.PreCopy.preloadLibrary(libraryDir);
    library.ifPresent(l -> launchEnvironment = Map.of("LD_PRELOAD", l.toString()));
    return library.isPresent();
  }

  /** Environment variables every QEMU is started with. */
  Map<String, String> launchEnvironment() {
    return launchEnvironment;
  }

  public Accelerator.Choice accelerator() {
    return accelerator;
  }

  /** What a VM brings to a launch; the driver adds image, RAM and accelerator. */
  public record Machine(String name, MachineShape shape, RunDir runDir, Path disk, Optional<String> tap, String mac) {}

  QemuLaunch launchOf(Machine m, GuestImage image, Path ramFile, boolean shared, QemuLaunch.Incoming incoming) {
    return new QemuLaunch(m.name(), accelerator.accelerator(), m.shape(), image.kernel(), image.initrd(), kernelArgs,
        ramFile, shared, m.disk(), m.tap(), m.mac(), m.runDir(), incoming, runAs);
  }

  /** Where QEMUs are limited, and how; for {@code boxd doctor} and tests. */
  public Cgroups cgroups() {
    return cgroups;
  }

  /** The user QEMUs run as, if not this process's. */
  public Optional<String> runAs() {
    return runAs;
  }

  /**
   * Starts a QEMU confined: as {@link #runAs}, in a group of its own with the limits of its
   * shape, named after the machine and its run directory (unique on the host: several data
   * directories may hold VMs of one name).
   */
  QemuVm launch(QemuLaunch launch, List<String> enterPrefix) {
    String group = launch.name() + "-" + shortDigest(launch.runDir().dir().toString()).substring(0, 8);
    return QemuVm.launch(launch, enterPrefix, launchEnvironment(), cgroups.create(group, limitsOf(launch.shape())));
  }

  /** Boots a machine from its disk (start after stop, reboot): slow, the guest runs its init. */
  public QemuVm coldBoot(Machine m, Golden golden, List<String> enterPrefix) {
    QemuVm vm = launch(launchOf(m, golden.image(), golden.ramFile(), false, QemuLaunch.Incoming.NONE), enterPrefix);
    try {
      vm.releaseSpentFiles(); // the disk is open read-write from the start (see QemuFiles#giveBack)
    } catch (RuntimeException e) {
      log.warn("QEMU {}: cannot give back its disk descriptors: {}", vm.pid(), e.getMessage());
    }
    return vm;
  }

  /**
   * Creates a running VM from the golden: QEMU starts with the golden's RAM mapped private, loads
   * the device state, and continues where the golden stopped. The caller gives it its identity.
   */
  public QemuVm restore(Machine m, Golden golden, List<String> enterPrefix) {
    QemuVm vm = launch(launchOf(m, golden.image(), golden.ramFile(), false, QemuLaunch.Incoming.MIGRATION), enterPrefix);
    try {
      vm.connectAgentSocket();
      vm.loadIncoming(golden.deviceState(), true, Duration.ofSeconds(60));
      return vm;
    } catch (Exception e) {
      String serial = m.runDir().qemuLogTail(2000);
      vm.kill();
      vm.close();
      throw e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, "restore failed: " + e.getMessage() + " " + serial, e);
    }
  }

  /** Where the time of one fork went, in microseconds. */
  public record ForkTimings(long launchChildUs, long stopUs, long saveDevicesUs, long scanPagesUs, long copyPagesUs,
      long snapshotDiskUs, long contUs, long writeDeltaUs, long loadDevicesUs, String precopy, long precopyUs, long precopyBytes) {}

  /**
   * A fork's outcome: the running child, the disk layer parent and child now share (frozen,
   * read-only), the parent's new top layer, and the times that matter: how long the parent was
   * stopped, and when the child ran, counted from the parent's stop and from the call.
   */
  public record ForkResult(QemuVm child, Path frozenDisk, Path parentDisk, Duration parentDowntime,
      Duration childRunningAfterStop, Duration childRunningAfterCall, long deltaBytes, int deltaRuns, ForkTimings timings) {}

  /**
   * Forks a VM restored from {@code golden} (or forked from one) into a new VM: same memory,
   * processes, device state and disk contents, with the parent stopped only while its device
   * state, private RAM pages and a disk snapshot are taken (tens of milliseconds). A running
   * parent runs again afterwards; a paused one stays paused. The child still has the parent's
   * identity (MAC inside its NIC state, address, hostname): the caller gives it its own through
   * the agent, as after {@link #restore}; its agent socket is connected, not yet synchronised.
   *
   * <p>The parent's current disk layer becomes a frozen layer shared by both; the parent goes on
   * over {@code parentDisk} and the child over {@code child.disk()}, both new files. If the fork
   * fails, no child process or file remains and the parent runs (or stays paused) as before; if it
   * failed after the disk snapshot, the parent writes {@code parentDisk} already (see
   * {@link QemuVm#activeDisk()}; the error says so).
   */
  public ForkResult fork(QemuVm parent, Path parentDisk, Machine child, Golden golden, List<String> enterPrefix) {
    return new DeltaFork(this).fork(parent, parentDisk, child, golden, enterPrefix);
  }

  /**
   * Saves a VM restored from (or forked from) {@code golden} into {@code dir}: its memory delta,
   * device state and the disk layer it was at, which is frozen; the VM goes on writing
   * {@code newTop}, a new overlay. The VM is stopped only while these are taken; it runs again
   * afterwards unless {@code leaveStopped} (hibernation: the caller then quits it, and restores it
   * later over {@code newTop}). If saving fails, the VM runs (or stays paused) as before.
   */
  public SavedSnapshot save(QemuVm vm, Golden golden, Path dir, Path newTop, boolean leaveStopped) {
    return new Snapshots(this).save(vm, golden, dir, newTop, leaveStopped);
  }

  /**
   * Starts a VM from a saved snapshot: over {@code m.disk()} if it exists (a hibernated VM's own
   * top layer), else over a new overlay of the snapshot's frozen layer. Like {@link #restore}, the
   * VM then runs with the identity it had when saved.
   */
  public QemuVm restoreFrom(Path dir, Machine m, Golden golden, List<String> enterPrefix) {
    return new Snapshots(this).restoreFrom(dir, m, golden, enterPrefix);
  }

  /**
   * Returns the golden for this image and shape, booting and snapshotting one first if there is
   * none (or its RAM file is gone, as after a host reboot: then a new generation is made and the
   * old one stays as long as VM disks are backed by it).
   */
  public Golden golden(Path goldenRoot, GuestImage image, MachineShape shape, Consumer<String> progress) {
    return golden(goldenRoot, image, shape, Optional.empty(), progress);
  }

  /**
   * {@link #golden(Path, GuestImage, MachineShape, Consumer)}, claimed for {@code claimant} (a
   * worker's state directory): the golden stays until every claimant has released it
   * ({@link GoldenClaims}).
   */
  public Golden golden(Path goldenRoot, GuestImage image, MachineShape shape, Optional<Path> claimant, Consumer<String> progress) {
    // Everything the snapshot depends on is in the name: image, shape, accelerator, kernel arguments.
    Path base = goldenRoot.resolve(image.shortHash() + "-" + shape.key() + "-" + accelerator.accelerator().name().toLowerCase()
        + "-" + shortDigest(GOLDEN_FORMAT + kernelArgs).substring(0, 8));
    try {
      Files.createDirectories(base);
      // The real path, so that every data directory reaching this cache through a link (tests,
      // benchmarks) finds the same golden and the same RAM file name instead of making its own.
      Path real = base.toRealPath();
      // Threads of this process wait their turn too: two first callers of one shape, or a
      // collection beside a make. The second finds the first one's golden.
      return GoldenLock.holding(real, () -> {
        int newest = 0;
        try (Stream<Path> gens = Files.list(real)) {
          for (Path gen : gens.filter(p -> p.getFileName().toString().startsWith("gen-")).toList()) {
            newest = Math.max(newest, Integer.parseInt(gen.getFileName().toString().substring(4)));
          }
        }
        if (newest > 0) {
          Golden existing = goldenAt(real.resolve("gen-" + newest), image, shape);
          if (Files.exists(existing.readyMarker()) && Files.exists(existing.ramFile())) {
            if (claimant.isPresent()) {
              GoldenClaims.claim(existing, claimant.get());
            }
            return existing;
          }
        }
        Golden fresh = goldenAt(real.resolve("gen-" + (newest + 1)), image, shape);
        build(fresh, progress);
        if (claimant.isPresent()) {
          GoldenClaims.claim(fresh, claimant.get());
        }
        return fresh;
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the golden under " + base + ": " + e.getMessage(), e);
    }
  }

  static Golden goldenAt(Path dir, GuestImage image, MachineShape shape) {
    return new Golden(dir, image, shape,
        Path.of("/dev/shm", Golden.RAM_PREFIX + shortDigest(dir.toAbsolutePath().toString()) + Golden.RAM_SUFFIX));
  }

  static String shortDigest(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void build(Golden golden, Consumer<String> progress) throws IOException {
    long started = System.nanoTime();
    Files.createDirectories(golden.dir());
    Files.deleteIfExists(golden.ramFile());
    // Named before the RAM file exists, so that no RAM file is ever without its owner.
    Files.writeString(golden.ownerFile(), golden.dir() + "\n");
    // The real path: the image may be reached through a data directory's link that goes away.
    Disks.createOverlay(golden.image().rootfs().toRealPath(), "raw", golden.disk(), Disks.STANDARD_SIZE);
    Machine machine = new Machine("boxd-golden", golden.shape(), new RunDir(golden.dir().resolve("run")), golden.disk(), Optional.empty(), Golden.PLACEHOLDER_MAC);
    progress.accept("booting the golden VM (" + golden.shape().key() + ", " + accelerator.accelerator() + ")");
    QemuVm vm;
    try {
      vm = launch(launchOf(machine, golden.image(), golden.ramFile(), true, QemuLaunch.Incoming.NONE), List.of());
    } catch (RuntimeException e) {
      Files.deleteIfExists(golden.ramFile());
      Files.deleteIfExists(golden.ownerFile());
      dev.boxd.os.Trees.delete(golden.dir());
      throw e;
    }
    try {
      AgentClient agent = vm.agent(BOOT_TIMEOUT);
      progress.accept("guest agent answered after " + millisSince(started) + " ms; waiting for boot to finish");
      // eth0 comes up here, once, so that no restored VM pays for the link's first start (tens of
      // milliseconds of cold kernel paths under TCG); each VM's identity then only sets addresses.
      // sshd, too, is started here once, with a placeholder host key, so that no VM starts it
      // (~0.3 s of guest CPU under TCG, while the VM's first command runs): sshd loads its host
      // key anew for every connection, so each VM's identity only replaces the key file.
      var boot = agent.run(ExecRequest.of("systemctl is-system-running --wait; systemctl --failed --no-legend; ip link set eth0 up; "
          + "ssh-keygen -q -t ed25519 -N '' -C golden-placeholder -f /etc/ssh/ssh_host_ed25519_key "
          + "&& timeout 60 sh -c 'until [ -s /run/sshd.pid ]; do sleep 0.05; done' || echo 'sshd did not start'; sync")
          .asUser("root"), BOOT_TIMEOUT);
      if (boot.stdoutText().contains("sshd did not start")) {
        throw new BoxdException(ErrorCode.INTERNAL, "the golden's sshd did not start: " + boot.stdoutText().strip());
      }
      progress.accept("guest booted (" + boot.stdoutText().strip().replace('\n', ' ') + ") after " + millisSince(started) + " ms; snapshotting");
      // The agent stays connected through the snapshot, so restored guests never see a hang-up.
      vm.pause();
      vm.qmp().execute("migrate-set-capabilities", Map.of("capabilities", List.of(Map.of("capability", "x-ignore-shared", "state", true))));
      vm.qmp().execute("migrate-set-parameters", Map.of("max-bandwidth", 8L << 30));
      vm.migrateTo(golden.deviceState(), Duration.ofSeconds(120));
      vm.quit(Duration.ofSeconds(10));
      Files.writeString(golden.readyMarker(), "ram=" + golden.ramFile() + "\n");
      progress.accept("golden ready in " + millisSince(started) + " ms: " + golden.dir());
    } catch (RuntimeException e) {
      vm.kill();
      Files.deleteIfExists(golden.ramFile());
      Files.deleteIfExists(golden.ownerFile());
      dev.boxd.os.Trees.delete(golden.dir());
      throw new BoxdException(ErrorCode.INTERNAL, "building the golden failed: " + e.getMessage() + "\n--- serial console ---\n"
          + machine.runDir().serialTail(4000), e);
    } finally {
      vm.close();
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
