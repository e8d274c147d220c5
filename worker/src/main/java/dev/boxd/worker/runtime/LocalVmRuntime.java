package dev.boxd.worker.runtime;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageStore;
import dev.boxd.net.DnsForwarder;
import dev.boxd.net.HostNetwork;
import dev.boxd.net.VmNic;
import dev.boxd.vmm.Accelerator;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.AgentClient.FileInfo;
import dev.boxd.vmm.agent.AgentException;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM runtime of one host: QEMU through {@link QemuDriver}, networking through
 * {@link HostNetwork}, files under {@link RuntimeConfig#vmsDir()}.
 *
 * <p>Over 500 lines, for now: it still holds every lifecycle operation (create and warm-pool take,
 * fork, snapshots, sleep and wake, guest I/O, power, recovery) with the per-VM locking they share.
 * Its seams are those operations; {@link DiskLayers}, {@link GoldenCollector} and {@link WarmPool}
 * are the parts already out, and the rest is to follow them.
 */
public final class LocalVmRuntime implements VmRuntime {
  private static final Logger log = LoggerFactory.getLogger(LocalVmRuntime.class);
  private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration IDENTITY_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);
  private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);
  /** A guest frozen for less than this keeps its clock: the error is below what anyone could notice. */
  private static final Duration CLOCK_TOLERANCE = Duration.ofMillis(20);

  private final RuntimeConfig config;
  private final HostNetwork network;
  private final QemuDriver driver;
  private final ImageStore images;
  private final Map<String, ManagedVm> vms = new ConcurrentHashMap<>();
  private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<String>> wakeListeners = new CopyOnWriteArrayList<>();
  private final GoldenCollector goldens;
  private final DnsForwarder dns;
  private final DiskLayers layers;
  private volatile Optional<WarmPool> pool = Optional.empty();

  public LocalVmRuntime(RuntimeConfig config) {
    this.config = config;
    this.network = new HostNetwork(config.network());
    this.driver = new QemuDriver(Accelerator.detect());
    // Forks copy memory ahead while the parent runs when QEMU's writes can be tracked.
    driver.trackForkWrites(config.hostLibDir());
    this.images = config.imageStore();
    this.layers = new DiskLayers(config, vms::values);
    this.goldens = new GoldenCollector(config, () -> images.current().map(GuestImage::shortHash));
    dev.boxd.vmm.GoldenClaims.removeOrphanRam(Path.of("/dev/shm"), config.goldenDir());
    goldens.collectLater(this::goldensInUse); // what a previous run destroyed before it could collect
    network.setUp(config.stateDir());
    var upstreams = config.network().dnsUpstreams().isEmpty() ? DnsForwarder.hostResolvers() : config.network().dnsUpstreams();
    this.dns = DnsForwarder.start(network.namespace(), new InetSocketAddress(config.network().subnet().gateway().toString(), 53), upstreams);
  }

  public HostNetwork network() {
    return network;
  }

  public QemuDriver driver() {
    return driver;
  }

  /** The golden for a shape, built on first use (once per host and shape), collected when unused ({@link GoldenCollector}). */
  public Golden golden(MachineShape shape, Consumer<String> progress) {
    return goldens.golden(shape, s -> {
      GuestImage image = images.current().orElseGet(() -> images.build(progress)).validate();
      return driver.golden(config.goldenDir(), image, s, Optional.of(goldens.claimant()), progress);
    });
  }

  /** Never collects the golden of {@code shape}: the default size's, whose next VM should not wait for one. */
  public void keepGolden(MachineShape shape) {
    goldens.keep(shape);
  }

  /** Releases now, without waiting, every golden no VM, snapshot or warm VM here uses; returns those deleted. */
  public List<Path> collectGoldens() {
    return goldens.collect(goldensInUse(), Duration.ZERO);
  }

  // A VM needs the golden its record names (its disk's base, its RAM template) and, cold booted,
  // the current golden of its shape (whose RAM file backs its memory).
  private java.util.Set<Path> goldensInUse() {
    java.util.Set<Path> used = new java.util.HashSet<>();
    for (ManagedVm vm : vms.values()) {
      used.add(Path.of(vm.record.goldenDir()));
      goldens.current(new MachineShape(vm.record.vcpus(), vm.record.memoryMib())).ifPresent(g -> used.add(g.dir()));
    }
    return used;
  }

  /**
   * Keeps {@code size} VMs of {@code shape} restored, warmed and frozen for {@link #create} to
   * take ({@link WarmPool}); call after {@link #recover()}. Size 0 keeps none.
   */
  public synchronized void keepWarm(MachineShape shape, int size) {
    if (size < 0) {
      throw BoxdException.invalid("warm pool size must be 0 or more, not " + size);
    }
    pool.ifPresent(WarmPool::close);
    pool = Optional.empty();
    goldens.keep(shape);
    if (size > 0) {
      pool = Optional.of(new WarmPool(config.vmsDir(), driver, network, s -> golden(s, line -> log.info("{}", line)),
          config.platformKey(), shape, size).start());
    }
  }

  /** How many warm VMs wait to be taken now. */
  public int warmVms() {
    return pool.map(WarmPool::waitingCount).orElse(0);
  }

  @Override
  public VmInfo create(VmSpec spec) {
    Golden golden = golden(spec.shape(), line -> log.info("{}", line));
    Optional<WarmPool.Entry> warm = pool.flatMap(p -> p.take(spec.shape(), golden));
    if (warm.isPresent()) {
      return createFromWarm(spec, golden, warm.get());
    }
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    var record = newRecord(spec, golden, files);
    ManagedVm vm = register(files, record);
    vm.lock.lock();
    try {
      long t0 = System.nanoTime();
      files.write(record);
      // Host key, disk overlay and tap are independent, and each takes a process or several:
      // made side by side they take as long as the slowest (the tap), not the sum.
      sideBySide(() -> files.generateHostKey("root@" + spec.name()),
          () -> Disks.createOverlay(golden.disk(), "qcow2", files.disk(), Disks.STANDARD_SIZE),
          () -> network.attachNew(nic(record)));
      long t1 = System.nanoTime();
      QemuVm qemu = driver.restore(machine(vm), golden, network.namespace().enterPrefix());
      adopt(vm, qemu);
      long t2 = System.nanoTime();
      giveIdentity(vm, qemu);
      long t3 = System.nanoTime();
      finishMaking(vm);
      log.info("created VM {} in {} ms: files and network {} ms, restore {} ms, identity {} ms", spec.id(),
          (t3 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
      return vm.info();
    } catch (RuntimeException e) {
      throw abandon(vm, "creating", e);
    } finally {
      vm.lock.unlock();
    }
  }

  /** The record of a VM made from {@code golden}, powered on, its disk a single overlay. */
  private static VmDirectory.Record newRecord(VmSpec spec, Golden golden, VmDirectory files) {
    return new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), spec.shape().vcpus(), spec.shape().memoryMib(),
        spec.ip().toString(), VmDirectory.newMachineId(), golden.dir().toString(), golden.ramFile().toString(),
        golden.image().dir().toString(), true, files.disk().toString(), List.of(), VmDirectory.Pending.MAKE);
  }

  /** The VM has its own identity: from now on a crash leaves it as it is, and it runs. */
  private void finishMaking(ManagedVm vm) {
    vm.record = vm.record.withPending(null);
    vm.files.write(vm.record);
    setState(vm, VmState.RUNNING, null);
  }

  /** Runs the steps at once, each on a thread of its own; waits for all, then throws the first failure. */
  private static void sideBySide(Runnable... steps) {
    List<java.util.concurrent.CompletableFuture<Void>> running = Stream.of(steps)
        .map(step -> java.util.concurrent.CompletableFuture.runAsync(step, Thread::startVirtualThread)).toList();
    for (var step : running) {
      try {
        step.join();
      } catch (java.util.concurrent.CompletionException e) {
        running.forEach(other -> other.exceptionally(t -> null).join());
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
  }

  /** {@link #create} with a VM from the warm pool: its directory, QEMU and tap become the VM's. */
  private VmInfo createFromWarm(VmSpec spec, Golden golden, WarmPool.Entry warm) {
    VmDirectory files = warm.files();
    var record = newRecord(spec, golden, files);
    ManagedVm vm;
    try {
      vm = register(files, record);
    } catch (RuntimeException e) {
      pool.ifPresent(p -> p.giveBack(warm));
      throw e;
    }
    vm.lock.lock();
    try {
      long t0 = System.nanoTime();
      files.write(record);
      WarmPool.handedOver(warm);
      network.attachRenamed(warm.tap(), nic(record));
      long t1 = System.nanoTime();
      adopt(vm, warm.qemu());
      warm.qemu().resume();
      long t2 = System.nanoTime();
      giveIdentity(vm, warm.qemu());
      long t3 = System.nanoTime();
      finishMaking(vm);
      log.info("created VM {} in {} ms from warm VM {}: files and network {} ms, resume {} ms, identity {} ms", spec.id(),
          (t3 - t0) / 1_000_000, files.dir().getFileName(), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
      return vm.info();
    } catch (RuntimeException e) {
      network.deleteLoneTap(warm.tap()); // if it was not renamed yet; the VM's own tap goes with the VM
      if (vm.qemu == null) {
        warm.qemu().kill();
        warm.qemu().close();
      }
      throw abandon(vm, "creating", e);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public VmInfo fork(String sourceVmId, VmSpec spec) {
    ManagedVm source = vm(sourceVmId);
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    VmDirectory.Record from = source.record;
    // The copy runs on the source's golden (its RAM template), whatever generation that is.
    Golden golden = goldenOf(from);
    var record = new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), from.vcpus(), from.memoryMib(), spec.ip().toString(),
        VmDirectory.newMachineId(), from.goldenDir(), from.ramFile(), from.imageDir(), true, files.disk().toString(), List.of(),
        VmDirectory.Pending.MAKE);
    ManagedVm vm = register(files, record);
    source.lock.lock();
    vm.lock.lock();
    try {
      long t0 = System.nanoTime();
      if (source.state == VmState.HIBERNATED) {
        return forkHibernated(source, vm, golden, t0);
      }
      if (source.qemu == null || !(source.state == VmState.RUNNING || source.state == VmState.STANDBY)) {
        throw BoxdException.precondition("VM " + from.name() + " is " + source.state.name().toLowerCase() + ": only a running, paused or hibernated VM can be forked");
      }
      files.write(record);
      files.generateHostKey("root@" + spec.name());
      network.attach(nic(record));
      Path parentTop = source.files.newTopLayer();
      QemuDriver.ForkResult forked;
      try {
        forked = driver.fork(source.qemu, parentTop, machine(vm), golden, network.namespace().enterPrefix());
      } finally {
        followDisk(source);
      }
      vm.record = record.withDisk(files.disk(), source.record.layers());
      files.write(vm.record);
      adopt(vm, forked.child());
      long t1 = System.nanoTime();
      giveIdentity(vm, forked.child());
      finishMaking(vm);
      log.info("forked VM {} from {} in {} ms: source stopped {} ms, child running after {} ms, delta {} MiB, identity {} ms",
          spec.id(), sourceVmId, (System.nanoTime() - t0) / 1_000_000, forked.parentDowntime().toMillis(),
          forked.childRunningAfterCall().toMillis(), forked.deltaBytes() >> 20, (System.nanoTime() - t1) / 1_000_000);
      return vm.info();
    } catch (RuntimeException e) {
      throw abandon(vm, "forking " + from.name() + " into", e);
    } finally {
      vm.lock.unlock();
      source.lock.unlock();
    }
  }

  /** The golden (RAM template, image) a VM was made from, whatever generation that is now. */
  private static Golden goldenOf(VmDirectory.Record r) {
    Path imageDir = Path.of(r.imageDir());
    return new Golden(Path.of(r.goldenDir()), new GuestImage(imageDir.getFileName().toString(), imageDir),
        new MachineShape(r.vcpus(), r.memoryMib()), Path.of(r.ramFile()));
  }

  @Override
  public long saveSnapshot(String vmId, String snapshotId) {
    requireSnapshotId(snapshotId);
    ManagedVm vm = vm(vmId);
    SnapshotFiles snap = new SnapshotFiles(config.snapshotsDir().resolve(snapshotId));
    vm.lock.lock();
    try {
      if (vm.qemu == null || !(vm.state == VmState.RUNNING || vm.state == VmState.STANDBY)) {
        throw BoxdException.precondition("VM " + vm.record.name() + " is " + vm.state.label() + ": only a running or paused VM can be saved");
      }
      if (Files.exists(snap.dir())) {
        throw new BoxdException(ErrorCode.ALREADY_EXISTS, "snapshot " + snapshotId + " already exists on this worker");
      }
      long t0 = System.nanoTime();
      Path newTop = vm.files.newTopLayer();
      try {
        Files.createDirectories(snap.dir());
        dev.boxd.vmm.SavedSnapshot saved;
        try {
          saved = driver.save(vm.qemu, goldenOf(vm.record), snap.dir(), newTop, false);
        } finally {
          followDisk(vm);
        }
        var r = vm.record;
        snap.write(new SnapshotFiles.Meta(r.id(), r.goldenDir(), r.ramFile(), r.imageDir(), r.vcpus(), r.memoryMib(), r.layers()));
        long bytes = directorySize(snap.dir());
        log.info("saved VM {} as snapshot {} in {} ms: {} MiB, VM stopped {} ms", vmId, snapshotId, (System.nanoTime() - t0) / 1_000_000,
            bytes >> 20, saved.downtime().toMillis());
        return bytes;
      } catch (IOException | RuntimeException e) {
        dev.boxd.os.Trees.delete(snap.dir());
        String why = e.getMessage() == null ? e.toString() : e.getMessage();
        if (why.contains("No space left")) {
          throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "saving VM " + vm.record.name() + " failed: the worker's disk is full");
        }
        throw e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, "saving VM " + vm.record.name() + " failed: " + why, e);
      }
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public void deleteSnapshot(String snapshotId) {
    requireSnapshotId(snapshotId);
    dev.boxd.os.Trees.delete(config.snapshotsDir().resolve(snapshotId));
    layers.sweep(null);
    goldens.collectLater(this::goldensInUse);
  }

  @Override
  public VmInfo createFromSnapshot(String snapshotId, VmSpec spec) {
    requireSnapshotId(snapshotId);
    SnapshotFiles snap = new SnapshotFiles(config.snapshotsDir().resolve(snapshotId));
    if (!snap.complete()) {
      throw BoxdException.notFound("snapshot " + snapshotId + " is not on this worker");
    }
    SnapshotFiles.Meta meta = snap.read();
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    var record = new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), meta.vcpus(), meta.memoryMib(), spec.ip().toString(),
        VmDirectory.newMachineId(), meta.goldenDir(), meta.ramFile(), meta.imageDir(), true, files.disk().toString(), meta.layers(),
        VmDirectory.Pending.MAKE);
    ManagedVm vm = register(files, record);
    vm.lock.lock();
    try {
      long t0 = System.nanoTime();
      files.write(record);
      files.generateHostKey("root@" + spec.name());
      network.attach(nic(record));
      QemuVm qemu = driver.restoreFrom(snap.dir(), machine(vm), goldenOf(record), network.namespace().enterPrefix());
      adopt(vm, qemu);
      giveIdentity(vm, qemu);
      finishMaking(vm);
      log.info("created VM {} from snapshot {} in {} ms", spec.id(), snapshotId, (System.nanoTime() - t0) / 1_000_000);
      return vm.info();
    } catch (RuntimeException e) {
      throw abandon(vm, "creating from snapshot " + snapshotId, e);
    } finally {
      vm.lock.unlock();
    }
  }

  private static void requireSnapshotId(String snapshotId) {
    if (snapshotId == null || !snapshotId.matches("[a-z0-9][a-z0-9-]{0,39}")) {
      throw BoxdException.invalid("invalid snapshot id " + dev.boxd.core.Names.quote(snapshotId));
    }
  }

  private static long directorySize(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      long total = 0;
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        total += Files.size(f);
      }
      return total;
    }
  }

  @Override
  public Optional<PauseTiming> pauseAheadOfLog(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.STANDBY) {
        return Optional.of(new PauseTiming(0));
      }
      if (vm.state != VmState.RUNNING) {
        return Optional.empty();
      }
      PauseTiming timing = pause(vmId);
      vm.aheadOfLogSince = System.nanoTime();
      return Optional.of(timing);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public Optional<PauseTiming> resumeAheadOfLog(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.RUNNING) {
        return Optional.of(new PauseTiming(0));
      }
      if (vm.state != VmState.STANDBY) {
        return Optional.empty();
      }
      PauseTiming timing = resume(vmId);
      vm.aheadOfLogSince = System.nanoTime();
      return Optional.of(timing);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public void aheadOfLogRecorded(String vmId) {
    vm(vmId).aheadOfLogSince = 0;
  }

  @Override
  public InboundActivity inboundActivity(String vmId) {
    ManagedVm vm = vm(vmId);
    return new InboundActivity(network.inboundFrames(nic(vm.record)), vm.sessionsStarted.get(), vm.sessionsOpen.get());
  }

  @Override
  public void onInboundWhileAsleep(Consumer<String> wake) {
    wakeListeners.add(wake);
  }

  // Armed before the VM stops reading its tap (standby) or once nobody holds the tap (hibernated,
  // holding it so the bridge keeps delivering): a frame that arrives in between is not missed.
  private void armWakeWatch(ManagedVm vm, boolean holdTap) {
    disarmWakeWatch(vm);
    if (wakeListeners.isEmpty()) {
      return;
    }
    String id = vm.record.id();
    try {
      vm.wakeWatch = network.watchInbound(nic(vm.record), holdTap, () -> {
        for (var listener : wakeListeners) {
          listener.accept(id);
        }
      });
    } catch (RuntimeException e) {
      log.warn("VM {}: cannot watch its tap to wake it on traffic: {}", id, e.getMessage());
    }
  }

  /** Stops watching; returns the frames a tap-holding watch kept, to hand to the VM once it reads its tap. */
  private List<byte[]> disarmWakeWatch(ManagedVm vm) {
    var watch = vm.wakeWatch;
    vm.wakeWatch = null;
    return watch == null ? List.of() : watch.release();
  }

  @Override
  public VmInfo hibernate(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.HIBERNATED) {
        return vm.info();
      }
      if (vm.qemu == null || !(vm.state == VmState.RUNNING || vm.state == VmState.STANDBY)) {
        throw BoxdException.precondition("VM " + vm.record.name() + " is " + vm.state.label() + ": only a running or paused VM can hibernate");
      }
      long t0 = System.nanoTime();
      Path dir = vm.files.hibernation();
      dev.boxd.os.Trees.delete(dir); // a save that never completed
      QemuVm qemu = vm.qemu;
      Path newTop = vm.files.newTopLayer();
      try {
        driver.save(qemu, goldenOf(vm.record), dir, newTop, true);
      } finally {
        followDisk(vm);
      }
      long saved = System.nanoTime();
      vm.expectingExit = true;
      qemu.kill();
      qemu.awaitExitOrKill(Duration.ofSeconds(10)); // its tap is free only once the process is gone
      qemu.close();
      vm.qemu = null;
      armWakeWatch(vm, true);
      setState(vm, VmState.HIBERNATED, null);
      log.info("VM {} hibernated in {} ms (save {} ms)", vmId, (System.nanoTime() - t0) / 1_000_000, (saved - t0) / 1_000_000);
      return vm.info();
    } finally {
      vm.lock.unlock();
    }
  }

  // Memory, devices and processes come back from the VM's directory; the clock is set at once.
  private PauseTiming wakeFromHibernation(ManagedVm vm) {
    long t0 = System.nanoTime();
    network.attach(nic(vm.record));
    List<byte[]> waiting = disarmWakeWatch(vm); // QEMU must be the tap's only holder
    QemuVm qemu = driver.restoreFrom(vm.files.hibernation(), machine(vm), goldenOf(vm.record), network.namespace().enterPrefix());
    adopt(vm, qemu);
    network.deliver(nic(vm.record), waiting); // the frames that woke it, answered instead of retransmitted
    try {
      qemu.agent(AGENT_TIMEOUT).setTime(Instant.now(), IDENTITY_TIMEOUT);
    } catch (RuntimeException e) {
      log.warn("VM {}: setting the clock after waking from hibernation failed: {}", vm.record.id(), e.getMessage());
    }
    dev.boxd.os.Trees.delete(vm.files.hibernation());
    long micros = (System.nanoTime() - t0) / 1000;
    setState(vm, VmState.RUNNING, null);
    log.info("VM {} woke from hibernation in {} ms", vm.record.id(), micros / 1000);
    return new PauseTiming(micros);
  }

  /**
   * A hibernated VM is already saved: the copy is restored from its hibernation files over a new
   * overlay of the layer it was saved at, and the source sleeps on, untouched.
   */
  private VmInfo forkHibernated(ManagedVm source, ManagedVm vm, Golden golden, long t0) {
    vm.record = vm.record.withDisk(vm.files.disk(), source.record.layers());
    vm.files.write(vm.record);
    vm.files.generateHostKey("root@" + vm.record.name());
    network.attach(nic(vm.record));
    QemuVm child = driver.restoreFrom(source.files.hibernation(), machine(vm), golden, network.namespace().enterPrefix());
    adopt(vm, child);
    giveIdentity(vm, child);
    finishMaking(vm);
    log.info("forked VM {} from hibernated {} in {} ms", vm.record.id(), source.record.id(), (System.nanoTime() - t0) / 1_000_000);
    return vm.info();
  }

  /**
   * Records the layer a VM's QEMU writes now: after a fork's disk snapshot it is a new file, and
   * the old top joins the frozen layers. Done even when the fork failed after the snapshot.
   */
  private void followDisk(ManagedVm vm) {
    QemuVm qemu = vm.qemu;
    if (qemu == null || !qemu.isAlive()) {
      return;
    }
    Path active = qemu.activeDisk();
    Path recorded = vm.files.topDisk(vm.record);
    if (!active.equals(recorded)) {
      List<String> layers = new ArrayList<>();
      layers.add(recorded.toString());
      layers.addAll(vm.record.layers());
      vm.record = vm.record.withDisk(active, layers);
      vm.files.write(vm.record);
    }
  }

  /**
   * Takes a VM about to be made into this runtime's table; refuses an id or an address that a VM
   * here already has, or an address outside this worker's network.
   */
  private ManagedVm register(VmDirectory files, VmDirectory.Record record) {
    var subnet = config.network().subnet();
    Ipv4 ip = Ipv4.parse(record.ip());
    if (!subnet.contains(ip) || ip.equals(subnet.gateway())) {
      throw BoxdException.invalid("address " + ip + " is not a VM address of " + subnet);
    }
    ManagedVm vm = new ManagedVm(files, record, VmState.CREATING);
    if (vms.putIfAbsent(record.id(), vm) != null || files.exists()) {
      vms.remove(record.id(), vm);
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "a VM with id " + record.id() + " already exists on this worker");
    }
    if (vms.values().stream().anyMatch(other -> other != vm && other.record.ip().equals(record.ip()))) {
      vms.remove(record.id());
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "address " + ip + " is already used by another VM");
    }
    return vm;
  }

  /** A VM whose making failed: everything made for it goes, and the error to throw says what failed. */
  private BoxdException abandon(ManagedVm vm, String doing, RuntimeException e) {
    log.warn("{} VM {} failed, removing what was made: {}", doing, vm.record.id(), e.getMessage());
    cleanUp(vm);
    vms.remove(vm.record.id());
    return e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, doing + " VM " + vm.record.name() + " failed: " + e.getMessage(), e);
  }

  private QemuDriver.Machine machine(ManagedVm vm) {
    var r = vm.record;
    return new QemuDriver.Machine("boxd-" + r.id(), new MachineShape(r.vcpus(), r.memoryMib()), vm.files.runDir(),
        vm.files.topDisk(r), Optional.of(nic(r).tap()), nic(r).mac());
  }

  private static VmNic nic(VmDirectory.Record record) {
    return VmNic.of(Ipv4.parse(record.ip()), record.owner());
  }

  // The identity carries the platform's public key too (the SSH gateway logs into the guest's
  // sshd as boxd with it): one request, written whole on every restore and boot.
  private void giveIdentity(ManagedVm vm, QemuVm qemu) {
    AgentClient agent = qemu.agent(AGENT_TIMEOUT);
    agent.identity(GuestIdentity.of(vm.record, vm.files, config.network().subnet(), config.platformKey()), IDENTITY_TIMEOUT);
  }

  // Watch a QEMU: an exit the runtime did not ask for is a failure; a guest-initiated reset
  // (reboot inside the VM) loses the identity, which is given again once the agent is back.
  private void adopt(ManagedVm vm, QemuVm qemu) {
    vm.qemu = qemu;
    vm.expectingExit = false;
    qemu.exited().thenRun(() -> {
      if (vm.qemu == qemu && !vm.expectingExit) {
        String reason = "QEMU (pid " + qemu.pid() + ") exited unexpectedly: " + qemu.runDir().qemuLogTail(500).strip();
        log.warn("VM {}: {}", vm.record.id(), reason);
        setState(vm, VmState.FAILED, reason);
      }
    });
    qemu.onEvent(event -> {
      if ("RESET".equals(event.path("event").asText()) && event.path("data").path("guest").asBoolean()) {
        // The guest rebooted itself: a fresh agent will wait for a HELLO on a new connection.
        qemu.dropAgent();
        Thread.ofVirtual().start(() -> {
          try {
            qemu.agent(BOOT_TIMEOUT);
            giveIdentity(vm, qemu);
          } catch (RuntimeException e) {
            log.warn("VM {}: identity after guest reboot failed: {}", vm.record.id(), e.getMessage());
          }
        });
      }
    });
  }

  private void setState(ManagedVm vm, VmState state, String reason) {
    vm.state = state;
    vm.failure = state == VmState.FAILED ? reason : null;
    VmEvent event = new VmEvent(vm.record.id(), state, Optional.ofNullable(reason));
    for (var listener : listeners) {
      try {
        listener.accept(event);
      } catch (RuntimeException e) {
        log.warn("state listener failed: {}", e.toString());
      }
    }
  }

  @Override
  public List<VmInfo> recover() {
    List<VmInfo> recovered = new ArrayList<>();
    if (!Files.isDirectory(config.vmsDir())) {
      return recovered;
    }
    if (pool.isPresent()) {
      throw new IllegalStateException("recover() runs before keepWarm(): it removes warm VMs that no pool owns");
    }
    WarmPool.removeLeftovers(config.vmsDir(), network);
    try (Stream<Path> dirs = Files.list(config.vmsDir())) {
      for (Path dir : dirs.sorted().toList()) {
        VmDirectory files = new VmDirectory(dir);
        if (!files.exists()) {
          continue; // a directory whose record was never written: swept below
        }
        VmDirectory.Record record = files.read();
        if (record.pending() == VmDirectory.Pending.MAKE) {
          undoMaking(files, record);
          continue;
        }
        recovered.add(reattach(files, record).info());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    removeUnfinishedSnapshots();
    layers.sweep(null);
    layers.removeUnusedTops();
    return recovered;
  }

  /**
   * A VM whose making a crash interrupted (before it had its identity, it is not the VM that was
   * asked for: a restore with the golden's hostname and key, or a fork child still waiting for its
   * memory): everything made for it goes, and the reconciler makes it again from the log.
   */
  private void undoMaking(VmDirectory files, VmDirectory.Record record) {
    log.warn("VM {} was being made when the supervisor stopped: removing what was made; it will be made again", record.id());
    files.killRecordedQemu();
    network.detach(nic(record));
    files.delete();
  }

  private ManagedVm reattach(VmDirectory files, VmDirectory.Record record) {
    ManagedVm vm = vms.computeIfAbsent(record.id(), id -> new ManagedVm(files, record, VmState.CREATING));
    network.attach(nic(record));
    Optional<QemuVm> qemu = QemuVm.attach(files.runDir());
    String status = qemu.map(QemuVm::status).orElse("");
    if (qemu.isPresent() && (status.equals("inmigrate") || status.equals("prelaunch"))) {
      // A restore (waking from hibernation) cut short: this QEMU never got the VM's memory.
      log.warn("VM {}: QEMU pid {} was still waiting for the VM's memory; ending it", record.id(), qemu.get().pid());
      qemu.get().kill();
      qemu.get().close();
      qemu = Optional.empty();
    }
    if (qemu.isPresent()) {
      adopt(vm, qemu.get());
      followDisk(vm); // a fork or save cut short may have moved the VM onto a new top layer
      if (record.pending() == VmDirectory.Pending.IDENTITY) {
        setState(vm, VmState.BOOTING, null);
        finishBootInBackground(vm, qemu.get());
      } else {
        boolean paused = "paused".equals(status);
        if (paused) {
          armWakeWatch(vm, false);
        }
        setState(vm, paused ? VmState.STANDBY : VmState.RUNNING, null);
      }
      log.info("re-attached to VM {} (QEMU pid {})", record.id(), qemu.get().pid());
    } else if (!record.powered()) {
      setState(vm, VmState.STOPPED, null);
    } else if (files.isHibernated()) {
      armWakeWatch(vm, true);
      setState(vm, VmState.HIBERNATED, null);
    } else {
      String qemuLog = files.runDir().qemuLogTail(500).strip();
      setState(vm, VmState.FAILED, "QEMU was not running when the supervisor started" + (qemuLog.isEmpty() ? "" : ": " + qemuLog));
    }
    return vm;
  }

  // A cold boot the supervisor's stop interrupted: the guest runs its own disk, still without
  // its identity (address, keys) for this boot. Finished without holding up recovery.
  private void finishBootInBackground(ManagedVm vm, QemuVm qemu) {
    Thread.ofVirtual().name("boot-" + vm.record.id()).start(() -> {
      vm.lock.lock();
      try {
        if (vm.qemu == qemu && vm.state == VmState.BOOTING) {
          awaitIdentity(vm, qemu);
        }
      } catch (RuntimeException e) {
        log.warn("VM {}: {}", vm.record.id(), bootFailed(vm, qemu, e).getMessage());
      } finally {
        vm.lock.unlock();
      }
    });
  }

  // A save the supervisor's stop interrupted has no manifest: it was never acknowledged.
  private void removeUnfinishedSnapshots() {
    for (String id : snapshotIds(false)) {
      log.warn("removing snapshot {}: its save never completed", id);
      dev.boxd.os.Trees.delete(config.snapshotsDir().resolve(id));
    }
  }

  @Override
  public List<String> snapshotIds() {
    return snapshotIds(true);
  }

  private List<String> snapshotIds(boolean complete) {
    if (!Files.isDirectory(config.snapshotsDir())) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(config.snapshotsDir())) {
      return dirs.filter(dir -> new SnapshotFiles(dir).complete() == complete).map(dir -> dir.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + config.snapshotsDir(), e);
    }
  }

  private ManagedVm vm(String vmId) {
    ManagedVm vm = vmId == null ? null : vms.get(vmId);
    if (vm == null) {
      throw BoxdException.notFound("no VM with id " + dev.boxd.core.Names.quote(vmId) + " on this worker");
    }
    return vm;
  }

  @Override
  public VmInfo info(String vmId) {
    return vm(vmId).info();
  }

  @Override
  public List<VmInfo> list() {
    return vms.values().stream().map(ManagedVm::info).sorted(Comparator.comparing(VmInfo::name)).toList();
  }

  private AgentClient agentOf(ManagedVm vm) {
    VmState state = vm.state;
    if (state != VmState.RUNNING && state != VmState.STANDBY) {
      throw BoxdException.precondition("VM " + vm.record.name() + " is " + state.label() + ", not running");
    }
    QemuVm qemu = vm.qemu;
    if (state == VmState.STANDBY) {
      resume(vm.record.id());
    }
    return qemu.agent(AGENT_TIMEOUT);
  }

  @Override
  public ExecSession exec(String vmId, ExecRequest request, OutputStream stdout, OutputStream stderr) {
    ManagedVm vm = vm(vmId);
    var session = vm.session();
    try {
      ExecSession exec = agentOf(vm).exec(request, stdout, stderr);
      exec.exitCode().whenComplete((code, error) -> session.close());
      return exec;
    } catch (RuntimeException e) {
      session.close();
      throw e;
    }
  }

  @Override
  public long upload(String vmId, String path, int mode, InputStream data) {
    requirePath(path);
    ManagedVm vm = vm(vmId);
    try (var session = vm.session()) {
      return agentOf(vm).put(path, mode, "boxd", true, data);
    } catch (AgentException e) {
      throw fileError(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public FileInfo download(String vmId, String path, OutputStream sink) {
    requirePath(path);
    ManagedVm vm = vm(vmId);
    try (var session = vm.session()) {
      return agentOf(vm).get(path, "boxd", sink);
    } catch (AgentException e) {
      throw fileError(e);
    }
  }

  private static void requirePath(String path) {
    if (path == null || path.isEmpty() || path.indexOf('\0') >= 0) {
      throw BoxdException.invalid("invalid guest path " + dev.boxd.core.Names.quote(path) + ": expected a non-empty path without NUL bytes");
    }
  }

  // The agent's message names the path and the reason; its errno decides the code.
  private static BoxdException fileError(AgentException e) {
    ErrorCode code = switch (e.errno()) {
      case AgentException.ENOENT -> ErrorCode.NOT_FOUND;
      case AgentException.EACCES, AgentException.EPERM -> ErrorCode.PERMISSION_DENIED;
      case AgentException.EISDIR, AgentException.ENOTDIR, AgentException.EINVAL -> ErrorCode.INVALID_ARGUMENT;
      case AgentException.ENOSPC -> ErrorCode.RESOURCE_EXHAUSTED;
      default -> ErrorCode.INTERNAL;
    };
    return new BoxdException(code, e.getMessage(), e);
  }

  @Override
  public void uploadTree(String vmId, Path localDir, String remoteDir) {
    requirePath(remoteDir);
    if (!Files.isDirectory(localDir)) {
      throw BoxdException.invalid("not a directory: " + localDir);
    }
    TreeCopy.upload(agentOf(vm(vmId)), localDir, remoteDir);
  }

  @Override
  public void downloadTree(String vmId, String remoteDir, Path localDir) {
    requirePath(remoteDir);
    TreeCopy.download(agentOf(vm(vmId)), remoteDir, localDir);
  }

  @Override
  public SocketChannel connect(String vmId, int port, Duration timeout) throws IOException {
    ManagedVm vm = vm(vmId);
    VmState state = vm.state;
    if (state != VmState.RUNNING && state != VmState.STANDBY) {
      throw BoxdException.precondition("VM " + vm.record.name() + " is " + state.label() + ", not running");
    }
    var target = new InetSocketAddress(InetAddress.getByName(vm.record.ip()), port);
    vm.session().close(); // a connection's traffic then counts as frames
    return network.namespace().connect(target, timeout);
  }

  @Override
  public String sshHostKey(String vmId) {
    ManagedVm vm = vm(vmId);
    try {
      return Files.readString(vm.files.hostKeyPub()).strip();
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot read the SSH host key of VM " + vm.record.name() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public PauseTiming pause(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.STANDBY) {
        return new PauseTiming(0);
      }
      if (vm.state != VmState.RUNNING) {
        throw BoxdException.precondition("VM " + vm.record.name() + " is " + vm.state.label() + ", not running");
      }
      armWakeWatch(vm, false);
      vm.aheadOfLogSince = 0;
      long t0 = System.nanoTime();
      vm.qemu.pause();
      long micros = (System.nanoTime() - t0) / 1000;
      vm.pausedAtNanos = System.nanoTime();
      setState(vm, VmState.STANDBY, null);
      return new PauseTiming(micros);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public PauseTiming resume(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.RUNNING) {
        return new PauseTiming(0);
      }
      if (vm.state == VmState.HIBERNATED) {
        return wakeFromHibernation(vm);
      }
      if (vm.state != VmState.STANDBY) {
        throw BoxdException.precondition("VM " + vm.record.name() + " is " + vm.state.label() + ", not paused");
      }
      long t0 = System.nanoTime();
      QemuVm qemu = vm.qemu;
      qemu.resume();
      // The tap watch of a standby VM only listens: let it go without waiting for its thread.
      var watch = vm.wakeWatch;
      vm.wakeWatch = null;
      if (watch != null) {
        Thread.ofVirtual().start(watch::close);
      }
      long micros = (System.nanoTime() - t0) / 1000;
      setState(vm, VmState.RUNNING, null);
      if (Duration.ofNanos(t0 - vm.pausedAtNanos).compareTo(CLOCK_TOLERANCE) < 0) {
        return new PauseTiming(micros); // frozen too briefly for the guest clock to be noticeably behind
      }
      // The guest clock stood still while frozen; correct it without holding up the resume.
      Thread.ofVirtual().start(() -> {
        try {
          qemu.agent(AGENT_TIMEOUT).setTime(Instant.now(), IDENTITY_TIMEOUT);
        } catch (RuntimeException e) {
          log.warn("VM {}: setting the clock after resume failed: {}", vmId, e.getMessage());
        }
      });
      return new PauseTiming(micros);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public void stop(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.STOPPED) {
        return;
      }
      vm.record = vm.record.withPowered(false);
      vm.files.write(vm.record);
      if (vm.state == VmState.HIBERNATED) {
        disarmWakeWatch(vm);
        dev.boxd.os.Trees.delete(vm.files.hibernation()); // the saved memory is what stop discards
      } else {
        powerOff(vm);
      }
      setState(vm, VmState.STOPPED, null);
    } finally {
      vm.lock.unlock();
    }
  }

  // Graceful first: the guest flushes and powers off; QEMU exits on its own. Then force.
  private void powerOff(ManagedVm vm) {
    QemuVm qemu = vm.qemu;
    if (qemu == null || !qemu.isAlive()) {
      return;
    }
    vm.expectingExit = true;
    if (vm.state == VmState.STANDBY) {
      qemu.resume();
    }
    try {
      AgentClient agent = qemu.agent(Duration.ofSeconds(5));
      agent.run(ExecRequest.of("sync; systemctl --no-block poweroff").asUser("root"), Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      log.info("VM {}: graceful power-off not possible ({}), killing QEMU", vm.record.id(), e.getMessage());
    }
    qemu.awaitExitOrKill(STOP_GRACE);
    qemu.close();
    vm.qemu = null;
  }

  @Override
  public VmInfo start(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      if (vm.state == VmState.RUNNING || vm.state == VmState.STANDBY) {
        return vm.info();
      }
      if (vm.state == VmState.FAILED) {
        vm.restarts++;
        vm.lastFailure = vm.failure;
      }
      return boot(vm);
    } finally {
      vm.lock.unlock();
    }
  }

  // Whatever fails after BOOTING leaves the VM FAILED with the reason, never BOOTING for ever:
  // the planner waits for a VM that is booting, and a start that finds it so would report success.
  private VmInfo boot(ManagedVm vm) {
    disarmWakeWatch(vm); // QEMU must be the tap's only holder
    dev.boxd.os.Trees.delete(vm.files.hibernation()); // a cold boot discards any saved memory
    vm.record = vm.record.withPowered(true).withPending(VmDirectory.Pending.IDENTITY);
    vm.files.write(vm.record);
    setState(vm, VmState.BOOTING, null);
    QemuVm qemu = null;
    try {
      Golden golden = golden(new MachineShape(vm.record.vcpus(), vm.record.memoryMib()), line -> log.info("{}", line));
      network.attach(nic(vm.record));
      qemu = driver.coldBoot(machine(vm), golden, network.namespace().enterPrefix());
      adopt(vm, qemu);
      awaitIdentity(vm, qemu);
      return vm.info();
    } catch (RuntimeException e) {
      throw bootFailed(vm, qemu, e);
    }
  }

  /** Waits for a booting guest's agent, gives the VM its identity, and marks it running. */
  private void awaitIdentity(ManagedVm vm, QemuVm qemu) {
    qemu.agent(BOOT_TIMEOUT);
    giveIdentity(vm, qemu);
    finishMaking(vm);
  }

  private BoxdException bootFailed(ManagedVm vm, QemuVm qemu, RuntimeException e) {
    vm.expectingExit = true;
    if (qemu != null) {
      qemu.kill();
      qemu.close();
    }
    vm.qemu = null;
    String why = e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    String reason = "boot failed: " + why + "; serial console: " + vm.files.runDir().serialTail(1500);
    setState(vm, VmState.FAILED, reason);
    return new BoxdException(ErrorCode.INTERNAL, reason, e);
  }

  @Override
  public VmInfo reboot(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      QemuVm qemu = vm.qemu;
      if (qemu != null && qemu.isAlive()) {
        vm.expectingExit = true;
        if (vm.state == VmState.STANDBY) {
          qemu.resume();
        }
        try {
          // Memory is lost on a cold restart, the disk is not: flush what the guest has cached.
          qemu.agent(Duration.ofSeconds(5)).run(ExecRequest.of("sync").asUser("root"), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
          log.info("VM {}: sync before reboot failed: {}", vmId, e.getMessage());
        }
        qemu.kill();
        qemu.close();
        vm.qemu = null;
      }
      return boot(vm);
    } finally {
      vm.lock.unlock();
    }
  }

  @Override
  public void destroy(String vmId) {
    ManagedVm vm = vm(vmId);
    vm.lock.lock();
    try {
      setState(vm, VmState.DESTROYING, null);
      cleanUp(vm);
      vms.remove(vmId);
    } finally {
      vm.lock.unlock();
    }
    goldens.collectLater(this::goldensInUse);
  }

  // Each step is safe when its part never existed, so a half-created VM is removed the same way.
  private void cleanUp(ManagedVm vm) {
    disarmWakeWatch(vm);
    QemuVm qemu = vm.qemu;
    if (qemu != null) {
      vm.expectingExit = true;
      qemu.kill();
      qemu.close();
      vm.qemu = null;
    } else {
      // A QEMU may run that this runtime never attached to (recovery failed to reach it).
      vm.files.killRecordedQemu();
    }
    network.detach(nic(vm.record));
    layers.sweep(vm);
  }

  /**
   * Merges the frozen layers under a stopped or hibernated VM's top that no other VM or snapshot
   * reads (each fork, save and hibernation adds one) into its top, and deletes them: a chain that
   * only grows makes every read slower and keeps files no one needs. Layers that are shared stay,
   * and so does everything under them. Returns how many layers were merged.
   *
   * <p>Not while QEMU runs: a confined QEMU holds its layers through descriptors it was handed,
   * and a live {@code block-stream} then fails to take the locks it needs (measured on QEMU 7.2),
   * so a running VM's chain is merged the next time it stops or hibernates.
   */
  public int mergeLayers(String vmId) {
    ManagedVm vm = vm(vmId);
    List<Path> merged;
    vm.lock.lock();
    try {
      if (vm.qemu != null || !(vm.state == VmState.STOPPED || vm.state == VmState.HIBERNATED)) {
        return 0;
      }
      List<String> chain = vm.record.layers();
      java.util.Set<Path> shared = layers.inUse(vm);
      int privateLayers = 0;
      while (privateLayers < chain.size() && !shared.contains(Path.of(chain.get(privateLayers)))) {
        privateLayers++;
      }
      if (privateLayers == 0) {
        return 0;
      }
      Path base = privateLayers < chain.size() ? Path.of(chain.get(privateLayers)) : goldenOf(vm.record).disk();
      long t0 = System.nanoTime();
      Disks.rebase(vm.files.topDisk(vm.record), base);
      merged = chain.subList(0, privateLayers).stream().map(Path::of).toList();
      vm.record = vm.record.withDisk(vm.files.topDisk(vm.record), chain.subList(privateLayers, chain.size()));
      vm.files.write(vm.record);
      log.info("VM {}: merged {} disk layers into its top in {} ms", vmId, privateLayers, (System.nanoTime() - t0) / 1_000_000);
    } finally {
      vm.lock.unlock();
    }
    layers.deleteUnused(merged);
    return merged.size();
  }

  /** Merges every VM's private layers, one VM at a time; a failure is logged and the next VM goes on. */
  public void mergeAllLayers() {
    for (ManagedVm vm : List.copyOf(vms.values())) {
      try {
        mergeLayers(vm.record.id());
      } catch (RuntimeException e) {
        log.warn("VM {}: merging its disk layers failed: {}", vm.record.id(), e.getMessage());
      }
    }
  }

  @Override
  public void observe(Consumer<VmEvent> listener) {
    listeners.add(listener);
  }

  @Override
  public void close() {
    goldens.close();
    pool.ifPresent(WarmPool::close);
    dns.close();
    vms.values().forEach(this::disarmWakeWatch);
    for (ManagedVm vm : vms.values()) {
      QemuVm qemu = vm.qemu;
      if (qemu != null) {
        vm.expectingExit = true;
        qemu.close();
      }
    }
  }
}
