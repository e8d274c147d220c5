package dev.boxd.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.EgressTraffic;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.verbs.Operations.ExposeView;
import dev.boxd.verbs.Operations.NewRequest;
import dev.boxd.verbs.Operations.ProxyView;
import dev.boxd.verbs.Operations.VmView;
import dev.boxd.core.MachineShape;
import dev.boxd.core.state.Snapshot;
import dev.boxd.workerport.GuestCommand;
import dev.boxd.workerport.GuestProcess;
import dev.boxd.workerport.Reconciled;
import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control plane's verbs against the in-memory log, with a worker that does what the log says at once. */
class ControlOperationsTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final Clock CLOCK = Clock.fixed(AT, ZoneOffset.UTC);
  private static final ControlConfig CONFIG = ControlConfig.singleNode(Ipv4Subnet.parse("10.77.0.0/24"), new MachineShape(1, 512));

  private final InMemoryStateStore store = new InMemoryStateStore();
  private final InstantWorker worker = new InstantWorker();
  private final ControlOperations alice;
  private final ControlOperations bob;

  ControlOperationsTest() {
    store.apply(new Command.CreateUser("u1", "alice", AT, 2));
    store.apply(new Command.CreateUser("u2", "bob", AT, 2));
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
    alice = new ControlOperations("u1", store, worker, CONFIG, CLOCK);
    bob = new ControlOperations("u2", store, worker, CONFIG, CLOCK);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void createWritesTheVmToTheLogAndReturnsItRunning() {
    VmView vm = alice.create(named("app"));

    assertThat(vm.name()).isEqualTo("app");
    assertThat(vm.status()).isEqualTo("running");
    assertThat(vm.ip()).startsWith("10.77.0.");
    assertThat(worker.reconciled).containsExactly(vm.id());
    assertThat(store.read().vmsOf("u1")).extracting(Vm::name).containsExactly("app");
  }

  @Test
  void infoShowsWhatTheVmExchangedWithTheInternetOnceItsWorkerRunsItAndListDoesNotAsk() {
    VmView vm = alice.create(named("app"));
    assertThat(alice.info("app").egress()).as("its worker does not run it (yet)").isEmpty();

    worker.withTraffic = vm.id();
    assertThat(alice.info("app").egress()).contains(new EgressTraffic(1234, 56789));
    assertThat(alice.list()).singleElement().satisfies(v -> assertThat(v.egress()).isEmpty());
  }

  @Test
  void aVmOfANamedImageShowsItsImageAndItsForkInheritsIt() {
    VmView vm = alice.create(new NewRequest(Optional.of("imp"), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.of("deb-import")));

    assertThat(vm.image()).isEqualTo("deb-import");
    assertThat(store.read().vm(vm.id()).orElseThrow().image()).isEqualTo("deb-import");
    assertThat(alice.fork("imp", Optional.of("imp-copy"), Optional.empty()).vm().image()).isEqualTo("deb-import");
    alice.destroy("imp-copy");
    assertThat(alice.create(named("plain")).image()).isEqualTo("debian-12");
  }

  @Test
  void anUnknownImageIsNotFoundAndAllocatesNothing() {
    var before = store.read();

    assertThatThrownBy(() -> alice.create(new NewRequest(Optional.of("x"), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.of("nope"))))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
          assertThat(e.getMessage()).startsWith("no image named \"nope\" on worker w1: boxd image list on its host shows");
        });
    assertThat(store.read().vms()).isEqualTo(before.vms());
    assertThat(worker.reconciled).isEmpty();
  }

  @Test
  void createRejectedForATakenNameAllocatesNothing() {
    alice.create(named("app"));
    var before = store.read();

    assertThatThrownBy(() -> alice.create(named("app")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS);
          assertThat(e.getMessage()).isEqualTo("a VM named \"app\" already exists");
        });

    var after = store.read();
    assertThat(after.vms()).isEqualTo(before.vms()); // no VM, address or worker room taken
    assertThat(worker.reconciled).hasSize(1); // the worker was never asked to make anything
  }

  @Test
  void quotaExceededIsResourceExhaustedAndAllocatesNothing() {
    alice.create(named("one"));
    alice.create(named("two"));

    assertThatThrownBy(() -> alice.create(named("three")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
          assertThat(e.getMessage()).isNotBlank();
        });
    assertThat(store.read().vmsOf("u1")).extracting(Vm::name).containsExactlyInAnyOrder("one", "two");
    assertThat(worker.reconciled).hasSize(2);
  }

  @Test
  void aMissingVmIsNotFoundWithItsNameInTheMessage() {
    for (var verb : List.<Runnable>of(() -> alice.info("nope"), () -> alice.pause("nope"), () -> alice.stop("nope"),
        () -> alice.destroy("nope"))) {
      assertThatThrownBy(verb::run)
          .isInstanceOfSatisfying(BoxdException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
            assertThat(e.getMessage()).isEqualTo("no VM named \"nope\"");
          });
    }
  }

  @Test
  void aNameAnotherAccountHoldsIsTakenBecauseNamesArePublicHostNames() {
    alice.create(named("app"));
    var before = store.read();

    assertThatThrownBy(() -> bob.create(named("app")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS);
          assertThat(e.getMessage()).isEqualTo("the name \"app\" is taken: VM names are public host names (app.localhost); choose another");
        });
    assertThat(store.read().vms()).isEqualTo(before.vms());
  }

  @Test
  void everyVmGetsItsOwnSshPortShownByInfoAndSshConfig() {
    var withSsh = new ControlOperations("u1", store, worker, CONFIG.withVmSsh(22, "ssh-ed25519 AAAAgw"), CLOCK);
    VmView app = withSsh.create(named("app"));
    VmView db = withSsh.create(named("db"));

    int appPort = store.read().vm(app.id()).orElseThrow().sshPort();
    int dbPort = store.read().vm(db.id()).orElseThrow().sshPort();
    assertThat(appPort).isBetween(10000, 30000).isNotEqualTo(dbPort);
    assertThat(dbPort).isBetween(10000, 30000);
    assertThat(app.ssh()).isEqualTo("ssh -p " + appPort + " boxd@app.localhost");
    assertThat(withSsh.info("db").ssh()).isEqualTo("ssh -p " + dbPort + " boxd@db.localhost");
    assertThat(withSsh.sshConfig().hosts()).extracting(h -> h.alias() + " " + h.hostName() + ":" + h.port())
        .containsExactly("app.localhost 127.0.0.1:" + appPort, "db.localhost 127.0.0.1:" + dbPort);
  }

  private static final String PROC_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

  @Test
  void routesAreAddedMovedFoundByTheGuestsListenerAndRemoved() {
    alice.create(named("app"));

    assertThat(alice.proxies(Optional.of("app"))).containsExactly(new ProxyView("default", "app", "app.localhost", 8000));
    assertThat(alice.addProxy("app", "web", 3000)).isEqualTo(new ProxyView("web", "app", "web.app.localhost", 3000));
    alice.setProxyPort("app", "default", OptionalInt.of(9000));
    // the guest listens on 22 (sshd), 5432 on loopback only, 4000 on every address (v4) and 3001 (v6)
    worker.guestFiles.put("/proc/net/tcp", PROC_HEADER
        + "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        + "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   110        0 2\n"
        + "   2: 00000000:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3\n");
    worker.guestFiles.put("/proc/net/tcp6", PROC_HEADER
        + "   0: 00000000000000000000000000000000:0BB9 00000000000000000000000000000000:0000 0A 0:0 00:0 0 1000 0 5\n");
    assertThat(alice.setProxyPort("app", "web", OptionalInt.empty()).port()).as("the lowest of 3001 and 4000").isEqualTo(3001);

    assertThat(alice.proxies(Optional.empty())).extracting(p -> p.name() + ":" + p.port()).containsExactly("default:9000", "web:3001");
    alice.removeProxy("app", "web");
    assertThat(alice.proxies(Optional.of("app"))).extracting(ProxyView::name).containsExactly("default");

    worker.guestFiles.put("/proc/net/tcp", PROC_HEADER + "   0: 00000000:0016 00000000:0000 0A 0:0 00:0 0 0 0 1\n");
    worker.guestFiles.remove("/proc/net/tcp6");
    assertThatThrownBy(() -> alice.setProxyPort("app", "default", OptionalInt.empty()))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains("nothing listens on a TCP port in VM app");
        });
    assertThat(alice.proxies(Optional.of("app"))).extracting(ProxyView::port).containsExactly(9000);
  }

  @Test
  void anotherAccountsVmsRoutesAndForwardsAreNotFound() {
    alice.create(named("app"));
    alice.addProxy("app", "web", 3000);
    var before = store.read();

    for (var verb : List.<Runnable>of(() -> bob.addProxy("app", "api", 80), () -> bob.removeProxy("app", "web"),
        () -> bob.setProxyPort("app", "web", OptionalInt.of(1)), () -> bob.proxies(Optional.of("app")),
        () -> bob.expose("app", "tcp", 22), () -> bob.exposures(Optional.of("app")))) {
      assertThatThrownBy(verb::run).isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }
    assertThat(bob.proxies(Optional.empty())).isEmpty();
    assertThat(store.read().proxies()).isEqualTo(before.proxies());
    assertThat(store.read().exposures()).isEmpty();
  }

  @Test
  void exposeKeepsThePublicPortAllowsThreeAndGoesWithTheVm() {
    VmView app = alice.create(named("app"));
    var tcp = alice.expose("app", "tcp", 5000);
    assertThat(tcp.publicPort()).isBetween(40000, 60000);
    assertThat(tcp.host()).isEqualTo("127.0.0.1");
    assertThat(tcp.dns()).isEqualTo("app.localhost");
    assertThat(alice.expose("app", "tcp", 5000)).isEqualTo(tcp);
    alice.expose("app", "udp", 5000);
    alice.expose("app", "tcp", 22);

    assertThatThrownBy(() -> alice.expose("app", "tcp", 80))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
          assertThat(e.getMessage()).contains("has 3 ports exposed");
        });
    assertThat(alice.exposures(Optional.of("app"))).hasSize(3);
    alice.unexpose("app", "udp", 5000);
    assertThat(alice.exposures(Optional.empty())).extracting(ExposeView::protocol).containsOnly("tcp");

    alice.destroy(app.id());
    assertThat(store.read().exposures()).isEmpty();
  }

  @Test
  void anotherAccountsVmIsNotFoundByNameOrId() {
    VmView vm = alice.create(named("app"));

    assertThatThrownBy(() -> bob.info("app"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThatThrownBy(() -> bob.destroy(vm.id()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThat(store.read().vm(vm.id()).orElseThrow().desired()).isEqualTo(DesiredPower.RUNNING);
  }

  @Test
  void aCreateTheWorkerFailsLeavesNothingBehind() {
    worker.failMaking = "no room for the disk";

    assertThatThrownBy(() -> alice.create(named("app")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
          assertThat(e.getMessage()).contains("no room for the disk");
        });
    assertThat(store.read().vmsOf("u1")).isEmpty(); // name, address and quota are free again
    assertThat(store.commands(Command.DestroyVm.class)).hasSize(1);
  }

  @Test
  void pauseAndResumeAreDoneByTheWorkerFirstThenLoggedAndReportTheVmmsTimings() {
    alice.create(named("app"));

    assertThat(alice.pause("app")).isEqualTo(InstantWorker.SUSPEND_US);
    assertThat(worker.calls).containsSubsequence("pauseAheadOfLog", "recorded", "reconcile");
    assertThat(store.read().vmByName("u1", "app").orElseThrow().desired()).isEqualTo(DesiredPower.STANDBY);
    assertThat(store.read().vmByName("u1", "app").orElseThrow().observed().status()).isEqualTo(VmStatus.STANDBY);
    worker.calls.clear();
    assertThat(alice.resume("app")).isEqualTo(InstantWorker.RESUME_US);
    assertThat(worker.calls).containsSubsequence("resumeAheadOfLog", "recorded", "reconcile");
    assertThat(store.read().vmByName("u1", "app").orElseThrow().desired()).isEqualTo(DesiredPower.RUNNING);
  }

  @Test
  void aHibernatedVmIsResumedThroughTheLog() {
    alice.create(named("app"));
    alice.hibernate("app");
    worker.calls.clear();

    assertThat(alice.resume("app")).isEqualTo(InstantWorker.RESTORE_US);
    assertThat(worker.calls).doesNotContain("resumeAheadOfLog").contains("reconcile");
    assertThat(store.read().vmByName("u1", "app").orElseThrow().observed().status()).isEqualTo(VmStatus.RUNNING);
  }

  @Test
  void anIsolatedVmStaysIsolatedInItsForksAndSnapshotsAndOnlyThereCanFromSnapshotAskForIt() {
    VmView box = alice.create(new NewRequest(Optional.of("box"), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), true));
    assertThat(box.isolated()).isTrue();
    assertThat(alice.info("box").isolated()).isTrue();
    assertThat(alice.list()).singleElement().satisfies(v -> assertThat(v.isolated()).isTrue());
    assertThat(alice.fork("box", Optional.empty(), Optional.empty()).vm().isolated()).as("its fork").isTrue();
    alice.saveSnapshot("box", "sealed");
    alice.destroy("box-fork");
    alice.destroy("box");
    VmView again = alice.create(new NewRequest(Optional.of("again"), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.of("sealed"), Optional.empty()));
    assertThat(again.isolated()).as("from the snapshot of an isolated VM, its VM gone").isTrue();

    VmView plain = alice.create(named("plain"));
    assertThat(plain.isolated()).isFalse();
    alice.saveSnapshot("plain", "open");
    alice.destroy("plain");
    assertThatThrownBy(() -> alice.create(new NewRequest(Optional.of("x"), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.of("open"), Optional.empty(), true)))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.getMessage()).contains("snapshot \"open\" is of a VM that is not isolated");
        });
    assertThat(store.read().vmsOf("u1")).extracting(Vm::name).containsExactly("again");
  }

  @Test
  void aSnapshotIsSavedByTheWorkerFromTheLogAndRemovedTheSameWay() {
    alice.create(named("app"));

    var saved = alice.saveSnapshot("app", "base");
    assertThat(saved.sizeBytes()).isEqualTo(InstantWorker.SNAPSHOT_BYTES);
    assertThat(store.read().snapshotByName("u1", "base").orElseThrow().isSaved()).isTrue();
    assertThat(worker.snapshotsOnDisk).containsExactly(saved.id());

    alice.removeSnapshot("base");
    assertThat(store.read().snapshotsOf("u1")).isEmpty();
    assertThat(worker.snapshotsOnDisk).isEmpty();
  }

  @Test
  void aFailedSaveTellsWhyAndLeavesNoSnapshot() {
    alice.create(named("app"));
    worker.failSaving = "no space left on the worker's disk";

    assertThatThrownBy(() -> alice.saveSnapshot("app", "base"))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
          assertThat(e.getMessage()).contains("no space left");
        });
    assertThat(store.read().snapshotsOf("u1")).isEmpty(); // the name is free again
  }

  @Test
  void destroyAsksTheWorkerAndTheVmIsGone() {
    alice.create(named("app"));

    alice.destroy("app");

    assertThat(store.read().vmsOf("u1")).isEmpty();
    assertThatThrownBy(() -> alice.info("app"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  private static NewRequest named(String name) {
    return new NewRequest(Optional.of(name), Optional.empty(), Optional.empty());
  }

  /**
   * A worker that does what the log asks the moment it is asked, and tells the log so: made VMs
   * are running, destroyed ones removed, snapshots saved. {@link #failMaking} makes creating fail
   * with a reason, {@link #failSaving} saving. Guest I/O is not the control operations' business.
   */
  private final class InstantWorker implements Workers, WorkerPort {
    /** The one VM this worker runs as far as its egress counters go; others are not on it (yet). */
    volatile String withTraffic = "";
    static final long SUSPEND_US = 640;
    static final long RESUME_US = 85;
    static final long RESTORE_US = 90_000;
    static final long SNAPSHOT_BYTES = 123_456;

    final List<String> reconciled = new CopyOnWriteArrayList<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    final Set<String> snapshotsOnDisk = ConcurrentHashMap.newKeySet();
    volatile String failMaking;
    volatile String failSaving;

    @Override
    public WorkerPort worker(String workerId) {
      return this;
    }

    @Override
    public boolean hasImage(String name) {
      return name.equals("deb-import");
    }

    @Override
    public Reconciled reconcileNow(String vmId, long index) {
      calls.add("reconcile");
      Vm vm = store.readAtLeast(index, Duration.ofSeconds(5)).vm(vmId).orElse(null);
      if (vm == null) {
        return new Reconciled(0, 0);
      }
      if (vm.desired() == DesiredPower.DESTROYED) {
        store.apply(new Command.RemoveVm(vmId, vm.workerId()));
        return new Reconciled(0, 0);
      }
      reconciled.add(vmId);
      if (failMaking != null && vm.observed().status() != VmStatus.RUNNING) {
        throw new BoxdException(ErrorCode.INTERNAL, "create failed: " + failMaking);
      }
      VmStatus status = switch (vm.desired()) {
        case RUNNING -> VmStatus.RUNNING;
        case STANDBY -> VmStatus.STANDBY;
        case HIBERNATED -> VmStatus.HIBERNATED;
        default -> VmStatus.STOPPED;
      };
      boolean restored = vm.observed().status() == VmStatus.HIBERNATED && status == VmStatus.RUNNING;
      if (vm.observed().status() != status) {
        store.apply(new Command.ReportObserved(vmId, vm.workerId(), new VmObserved(status, 4242, "", AT, 0)));
      }
      for (Snapshot snapshot : store.read().snapshots()) {
        if (!snapshot.isSaved() && snapshot.sourceVmId().equals(vmId)) {
          if (failSaving != null) {
            store.apply(new Command.RemoveSnapshot(snapshot.id()));
            throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, failSaving);
          }
          snapshotsOnDisk.add(snapshot.id());
          store.apply(new Command.SnapshotSaved(snapshot.id(), snapshot.workerId(), SNAPSHOT_BYTES));
        }
      }
      return new Reconciled(vm.desired() == DesiredPower.STANDBY ? SUSPEND_US : 0, restored ? RESTORE_US : 0);
    }

    @Override
    public void reconcileSnapshotsNow(long index) {
      var held = store.readAtLeast(index, Duration.ofSeconds(5)).snapshots().stream().map(Snapshot::id).toList();
      snapshotsOnDisk.retainAll(held);
    }

    @Override
    public OptionalLong pauseAheadOfLog(String vmId) {
      calls.add("pauseAheadOfLog");
      return OptionalLong.of(SUSPEND_US);
    }

    @Override
    public OptionalLong resumeAheadOfLog(String vmId) {
      calls.add("resumeAheadOfLog");
      return OptionalLong.of(RESUME_US);
    }

    @Override
    public void recorded(String vmId) {
      calls.add("recorded");
    }

    @Override
    public void wake(String vmId) {
      throw unsupported();
    }

    @Override
    public EgressTraffic egressTraffic(String vmId) {
      if (!vmId.equals(withTraffic)) {
        throw BoxdException.notFound("no VM with id " + vmId + " on this worker");
      }
      return new EgressTraffic(1234, 56789);
    }

    @Override
    public GuestProcess exec(String vmId, GuestCommand command, OutputStream stdout, OutputStream stderr) {
      throw unsupported();
    }

    @Override
    public long upload(String vmId, String path, int mode, InputStream data) {
      throw unsupported();
    }

    /** Guest files download serves, by path. */
    final java.util.Map<String, String> guestFiles = new ConcurrentHashMap<>();

    @Override
    public long download(String vmId, String path, OutputStream sink) {
      String content = guestFiles.get(path);
      if (content == null) {
        throw BoxdException.notFound("no such file: " + path);
      }
      try {
        sink.write(content.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return content.length();
    }

    @Override
    public SocketChannel connect(String vmId, int port, Duration timeout) {
      throw unsupported();
    }

    @Override
    public String sshHostKey(String vmId) {
      throw unsupported();
    }

    private static BoxdException unsupported() {
      return BoxdException.precondition("guest I/O is not part of the control operations' unit tests");
    }
  }
}
