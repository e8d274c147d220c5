package dev.boxd.worker.runtime;

import dev.boxd.core.BoxdException;
import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageStore;
import dev.boxd.net.DnsForwarder;
import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.Accelerator;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient.FileInfo;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM runtime of one host: QEMU through {@link QemuDriver}, networking through
 * {@link HostNetwork}, files under {@link RuntimeConfig#vmsDir()}.
 *
 * <p>It puts the parts together and hands each operation to the one that does it: the VMs and
 * their locking ({@link VmTable}), making VMs ({@link VmMaker}), sleep and wake
 * ({@link SleepAndWake}, {@link WakeOnTraffic}), guest I/O ({@link GuestIo}), power
 * ({@link Power}), snapshots ({@link SnapshotStore}), recovery ({@link Recovery}), disk layers
 * ({@link DiskLayers}, {@link LayerMerge}); goldens ({@link GoldenCollector}) and the warm pool
 * ({@link WarmPool}) are kept here, for they serve several of those parts.
 */
public final class LocalVmRuntime implements VmRuntime {
  private static final Logger log = LoggerFactory.getLogger(LocalVmRuntime.class);

  private final RuntimeConfig config;
  private final HostNetwork network;
  private final QemuDriver driver;
  private final ImageStore images;
  private final VmTable vms;
  private final VmQemu qemus;
  private final WakeOnTraffic wakeOnTraffic;
  private final SleepAndWake sleep;
  private final GuestIo guestIo;
  private final SnapshotStore snapshots;
  private final Power power;
  private final VmMaker maker;
  private final Recovery recovery;
  private final LayerMerge layerMerge;
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
    this.vms = new VmTable(config.network().subnet());
    this.qemus = new VmQemu(config, vms);
    this.wakeOnTraffic = new WakeOnTraffic(network);
    this.layers = new DiskLayers(config, vms::values);
    this.sleep = new SleepAndWake(vms, qemus, wakeOnTraffic, driver, network);
    this.guestIo = new GuestIo(vms, sleep, network);
    this.snapshots = new SnapshotStore(config, vms, driver, layers);
    this.power = new Power(vms, qemus, wakeOnTraffic, driver, network, layers, this::golden);
    this.maker = new VmMaker(config, vms, qemus, driver, network, snapshots, power, this::golden, () -> pool);
    this.recovery = new Recovery(config, vms, qemus, wakeOnTraffic, power, snapshots, layers, network);
    this.layerMerge = new LayerMerge(vms, layers);
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
    return golden("", shape, progress);
  }

  /**
   * The golden of the image named {@code image} (empty: the default image, built first if need
   * be; otherwise one made with {@code boxd image import}) for a shape, made on its first use.
   */
  public Golden golden(String image, MachineShape shape, Consumer<String> progress) {
    return goldens.golden(image, shape, s -> {
      GuestImage guest = image.isEmpty() ? images.current().orElseGet(() -> images.build(progress)).validate()
          : images.named(image).orElseThrow(() -> BoxdException.notFound("no image named '" + image + "' on this host"
              + " (boxd image list shows the images; boxd image import FILE --name=" + image + " makes one)")).validate();
      return driver.golden(config.goldenDir(), guest, s, Optional.of(goldens.claimant()), progress);
    });
  }

  @Override
  public boolean hasImage(String name) {
    return name.isEmpty() || images.named(name).isPresent();
  }

  // A golden built for a VM (not asked for by a command) tells its progress to the log.
  private Golden golden(MachineShape shape) {
    return golden(shape, line -> log.info("{}", line));
  }

  private Golden golden(String image, MachineShape shape) {
    return golden(image, shape, line -> log.info("{}", line));
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
  private Set<Path> goldensInUse() {
    Set<Path> used = new HashSet<>();
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
      pool = Optional.of(new WarmPool(config.vmsDir(), driver, network, this::golden, config.platformKey(), shape, size).start());
    }
  }

  /** How many warm VMs wait to be taken now. */
  public int warmVms() {
    return pool.map(WarmPool::waitingCount).orElse(0);
  }

  @Override
  public VmInfo create(VmSpec spec) {
    return maker.create(spec);
  }

  @Override
  public VmInfo fork(String sourceVmId, VmSpec spec) {
    return maker.fork(sourceVmId, spec);
  }

  @Override
  public VmInfo createFromSnapshot(String snapshotId, VmSpec spec) {
    return maker.createFromSnapshot(snapshotId, spec);
  }

  @Override
  public long saveSnapshot(String vmId, String snapshotId) {
    return snapshots.save(vmId, snapshotId);
  }

  @Override
  public void deleteSnapshot(String snapshotId) {
    snapshots.delete(snapshotId);
    goldens.collectLater(this::goldensInUse);
  }

  @Override
  public List<String> snapshotIds() {
    return snapshots.ids();
  }

  @Override
  public Optional<PauseTiming> pauseAheadOfLog(String vmId) {
    return sleep.pauseAheadOfLog(vmId);
  }

  @Override
  public Optional<PauseTiming> resumeAheadOfLog(String vmId) {
    return sleep.resumeAheadOfLog(vmId);
  }

  @Override
  public void aheadOfLogRecorded(String vmId) {
    sleep.aheadOfLogRecorded(vmId);
  }

  @Override
  public InboundActivity inboundActivity(String vmId) {
    return sleep.inboundActivity(vmId);
  }

  @Override
  public dev.boxd.core.net.EgressTraffic egressTraffic(String vmId) {
    return network.egressTraffic(VmQemu.nic(vms.get(vmId).record));
  }

  @Override
  public void onInboundWhileAsleep(Consumer<String> wake) {
    wakeOnTraffic.onInbound(wake);
  }

  @Override
  public VmInfo hibernate(String vmId) {
    return sleep.hibernate(vmId);
  }

  @Override
  public List<VmInfo> recover() {
    return recovery.recover(pool.isPresent());
  }

  @Override
  public VmInfo info(String vmId) {
    return vms.get(vmId).info();
  }

  @Override
  public List<VmInfo> list() {
    return vms.list();
  }

  @Override
  public ExecSession exec(String vmId, ExecRequest request, OutputStream stdout, OutputStream stderr) {
    return guestIo.exec(vmId, request, stdout, stderr);
  }

  @Override
  public long upload(String vmId, String path, int mode, InputStream data) {
    return guestIo.upload(vmId, path, mode, data);
  }

  @Override
  public FileInfo download(String vmId, String path, OutputStream sink) {
    return guestIo.download(vmId, path, sink);
  }

  @Override
  public void uploadTree(String vmId, Path localDir, String remoteDir) {
    guestIo.uploadTree(vmId, localDir, remoteDir);
  }

  @Override
  public void downloadTree(String vmId, String remoteDir, Path localDir) {
    guestIo.downloadTree(vmId, remoteDir, localDir);
  }

  @Override
  public SocketChannel connect(String vmId, int port, Duration timeout) throws IOException {
    return guestIo.connect(vmId, port, timeout);
  }

  @Override
  public java.nio.channels.DatagramChannel datagram(String vmId, int port) throws IOException {
    return guestIo.datagram(vmId, port);
  }

  @Override
  public String sshHostKey(String vmId) {
    return guestIo.sshHostKey(vmId);
  }

  @Override
  public PauseTiming pause(String vmId) {
    return sleep.pause(vmId);
  }

  @Override
  public PauseTiming resume(String vmId) {
    return sleep.resume(vmId);
  }

  @Override
  public void stop(String vmId) {
    power.stop(vmId);
  }

  @Override
  public VmInfo start(String vmId) {
    return power.start(vmId);
  }

  @Override
  public VmInfo reboot(String vmId) {
    return power.reboot(vmId);
  }

  @Override
  public void destroy(String vmId) {
    power.destroy(vmId);
    goldens.collectLater(this::goldensInUse);
  }

  /**
   * Merges the frozen layers under a stopped or hibernated VM's top that no other VM or snapshot
   * reads into its top, and deletes them ({@link LayerMerge#merge}); returns how many were merged.
   */
  public int mergeLayers(String vmId) {
    return layerMerge.merge(vmId);
  }

  /** Merges every VM's private layers, one VM at a time; a failure is logged and the next VM goes on. */
  public void mergeAllLayers() {
    layerMerge.mergeAll();
  }

  @Override
  public void observe(Consumer<VmEvent> listener) {
    vms.observe(listener);
  }

  @Override
  public void close() {
    goldens.close();
    pool.ifPresent(WarmPool::close);
    dns.close();
    vms.values().forEach(wakeOnTraffic::disarm);
    for (ManagedVm vm : vms.values()) {
      QemuVm qemu = vm.qemu;
      if (qemu != null) {
        vm.expectingExit = true;
        qemu.close();
      }
    }
  }
}
