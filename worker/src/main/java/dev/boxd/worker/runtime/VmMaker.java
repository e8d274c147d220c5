package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.followDisk;
import static dev.boxd.worker.runtime.VmQemu.goldenOf;
import static dev.boxd.worker.runtime.VmQemu.machine;
import static dev.boxd.worker.runtime.VmQemu.nic;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes VMs: from the golden (or a warm VM of the pool), as a copy of a VM here (fork), or from a
 * snapshot. A VM being made is in the table from the start, its record marked pending until the
 * guest has its identity; a making that fails removes everything made for it.
 */
final class VmMaker {
  private static final Logger log = LoggerFactory.getLogger(VmMaker.class);

  private final RuntimeConfig config;
  private final VmTable vms;
  private final VmQemu qemus;
  private final QemuDriver driver;
  private final HostNetwork network;
  private final SnapshotStore snapshots;
  private final Power power;
  private final java.util.function.BiFunction<String, MachineShape, Golden> goldens;
  private final Supplier<Optional<WarmPool>> pool;

  /**
   * {@code goldens} gives the current golden of an image (by name, empty for the default) and
   * shape, built if there is none yet; {@code pool}
   * the warm pool now, if one is kept.
   */
  VmMaker(RuntimeConfig config, VmTable vms, VmQemu qemus, QemuDriver driver, HostNetwork network, SnapshotStore snapshots, Power power,
      java.util.function.BiFunction<String, MachineShape, Golden> goldens, Supplier<Optional<WarmPool>> pool) {
    this.config = config;
    this.vms = vms;
    this.qemus = qemus;
    this.driver = driver;
    this.network = network;
    this.snapshots = snapshots;
    this.power = power;
    this.goldens = goldens;
    this.pool = pool;
  }

  /** {@link VmRuntime#create}: a warm VM if the pool has one of the shape, else a restore of the golden. */
  VmInfo create(VmSpec spec) {
    Golden golden = goldens.apply(spec.image(), spec.shape());
    // the pool holds VMs of the default image only
    Optional<WarmPool.Entry> warm = spec.image().isEmpty() ? pool.get().flatMap(p -> p.take(spec.shape(), golden)) : Optional.empty();
    if (warm.isPresent()) {
      return createFromWarm(spec, golden, warm.get());
    }
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    var record = newRecord(spec, golden, files);
    ManagedVm vm = vms.register(files, record);
    return make(vm, "creating", () -> {
      long t0 = System.nanoTime();
      files.write(record);
      // Host key, disk overlay and tap are independent, and each takes a process or several:
      // made side by side they take as long as the slowest (the tap), not the sum.
      sideBySide(() -> files.generateHostKey("root@" + spec.name()),
          () -> Disks.createOverlay(golden.disk(), "qcow2", files.disk(), Disks.STANDARD_SIZE),
          () -> network.attachNew(nic(record)));
      long t1 = System.nanoTime();
      QemuVm qemu = driver.restore(machine(vm), golden, network.namespace().enterPrefix());
      qemus.adopt(vm, qemu);
      long t2 = System.nanoTime();
      qemus.giveIdentity(vm, qemu);
      long t3 = System.nanoTime();
      qemus.finishMaking(vm);
      log.info("created VM {} in {} ms: files and network {} ms, restore {} ms, identity {} ms", spec.id(),
          (t3 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
      return vm.info();
    });
  }

  /** The record of a VM made from {@code golden}, powered on, its disk a single overlay. */
  private static VmDirectory.Record newRecord(VmSpec spec, Golden golden, VmDirectory files) {
    return new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), spec.shape().vcpus(), spec.shape().memoryMib(),
        spec.ip().toString(), VmDirectory.newMachineId(), golden.dir().toString(), golden.ramFile().toString(),
        golden.image().dir().toString(), true, files.disk().toString(), List.of(), VmDirectory.Pending.MAKE, spec.isolated());
  }

  /** Runs the steps at once, each on a thread of its own; waits for all, then throws the first failure. */
  private static void sideBySide(Runnable... steps) {
    List<CompletableFuture<Void>> running = Stream.of(steps)
        .map(step -> CompletableFuture.runAsync(step, Thread::startVirtualThread)).toList();
    for (var step : running) {
      try {
        step.join();
      } catch (CompletionException e) {
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
      vm = vms.register(files, record);
    } catch (RuntimeException e) {
      pool.get().ifPresent(p -> p.giveBack(warm));
      throw e;
    }
    return make(vm, "creating", () -> {
      long t0 = System.nanoTime();
      files.write(record);
      WarmPool.handedOver(warm);
      network.attachRenamed(warm.tap(), nic(record));
      long t1 = System.nanoTime();
      qemus.adopt(vm, warm.qemu());
      warm.qemu().resume();
      long t2 = System.nanoTime();
      qemus.giveIdentity(vm, warm.qemu());
      long t3 = System.nanoTime();
      qemus.finishMaking(vm);
      log.info("created VM {} in {} ms from warm VM {}: files and network {} ms, resume {} ms, identity {} ms", spec.id(),
          (t3 - t0) / 1_000_000, files.dir().getFileName(), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
      return vm.info();
    }, () -> {
      network.deleteLoneTap(warm.tap()); // if it was not renamed yet; the VM's own tap goes with the VM
      if (vm.qemu == null) {
        warm.qemu().kill();
        warm.qemu().close();
      }
    });
  }

  /** {@link VmRuntime#fork}: locks the source, then the copy; a hibernated source is copied from its saved memory. */
  VmInfo fork(String sourceVmId, VmSpec spec) {
    ManagedVm source = vms.get(sourceVmId);
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    VmDirectory.Record from = source.record;
    // The copy runs on the source's golden (its RAM template), whatever generation that is.
    Golden golden = goldenOf(from);
    var record = new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), from.vcpus(), from.memoryMib(), spec.ip().toString(),
        VmDirectory.newMachineId(), from.goldenDir(), from.ramFile(), from.imageDir(), true, files.disk().toString(), List.of(),
        VmDirectory.Pending.MAKE, spec.isolated());
    ManagedVm vm = vms.register(files, record);
    source.lock.lock();
    try {
      return make(vm, "forking " + from.name() + " into", () -> {
        long t0 = System.nanoTime();
        if (source.state == VmState.HIBERNATED) {
          return forkHibernated(source, vm, golden, t0);
        }
        if (source.qemu == null || !(source.state == VmState.RUNNING || source.state == VmState.STANDBY)) {
          throw VmTable.refused(source, ": only a running, paused or hibernated VM can be forked");
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
        qemus.adopt(vm, forked.child());
        long t1 = System.nanoTime();
        qemus.giveIdentity(vm, forked.child());
        qemus.finishMaking(vm);
        log.info("forked VM {} from {} in {} ms: source stopped {} ms, child running after {} ms, delta {} MiB, identity {} ms",
            spec.id(), sourceVmId, (System.nanoTime() - t0) / 1_000_000, forked.parentDowntime().toMillis(),
            forked.childRunningAfterCall().toMillis(), forked.deltaBytes() >> 20, (System.nanoTime() - t1) / 1_000_000);
        return vm.info();
      });
    } finally {
      source.lock.unlock();
    }
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
    qemus.adopt(vm, child);
    qemus.giveIdentity(vm, child);
    qemus.finishMaking(vm);
    log.info("forked VM {} from hibernated {} in {} ms", vm.record.id(), source.record.id(), (System.nanoTime() - t0) / 1_000_000);
    return vm.info();
  }

  /** {@link VmRuntime#createFromSnapshot}: the size, golden and disk layers come from the snapshot. */
  VmInfo createFromSnapshot(String snapshotId, VmSpec spec) {
    SnapshotFiles snap = snapshots.saved(snapshotId);
    SnapshotFiles.Meta meta = snap.read();
    VmDirectory files = new VmDirectory(config.vmsDir().resolve(spec.id()));
    var record = new VmDirectory.Record(spec.id(), spec.name(), spec.owner(), meta.vcpus(), meta.memoryMib(), spec.ip().toString(),
        VmDirectory.newMachineId(), meta.goldenDir(), meta.ramFile(), meta.imageDir(), true, files.disk().toString(), meta.layers(),
        VmDirectory.Pending.MAKE, spec.isolated());
    ManagedVm vm = vms.register(files, record);
    return make(vm, "creating from snapshot " + snapshotId, () -> {
      long t0 = System.nanoTime();
      files.write(record);
      files.generateHostKey("root@" + spec.name());
      network.attach(nic(record));
      QemuVm qemu = driver.restoreFrom(snap.dir(), machine(vm), goldenOf(record), network.namespace().enterPrefix());
      qemus.adopt(vm, qemu);
      qemus.giveIdentity(vm, qemu);
      qemus.finishMaking(vm);
      log.info("created VM {} from snapshot {} in {} ms", spec.id(), snapshotId, (System.nanoTime() - t0) / 1_000_000);
      return vm.info();
    });
  }

  /** Runs the steps that make a registered VM, holding its lock; if they fail, the VM is abandoned. */
  private VmInfo make(ManagedVm vm, String doing, Supplier<VmInfo> steps) {
    return make(vm, doing, steps, () -> {});
  }

  /** {@link #make(ManagedVm, String, Supplier)}, undoing first on failure what {@link #abandon} does not know of. */
  private VmInfo make(ManagedVm vm, String doing, Supplier<VmInfo> steps, Runnable undoFirst) {
    vm.lock.lock();
    try {
      return steps.get();
    } catch (RuntimeException e) {
      undoFirst.run();
      throw abandon(vm, doing, e);
    } finally {
      vm.lock.unlock();
    }
  }

  /** A VM whose making failed: everything made for it goes, and the error to throw says what failed. */
  private BoxdException abandon(ManagedVm vm, String doing, RuntimeException e) {
    log.warn("{} VM {} failed, removing what was made: {}", doing, vm.record.id(), e.getMessage());
    power.cleanUp(vm);
    vms.remove(vm.record.id());
    return e instanceof BoxdException b ? b
        : new BoxdException(ErrorCode.INTERNAL, doing + " VM " + vm.record.name() + " failed: " + e.getMessage(), e);
  }
}
