package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.SshKey;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.User;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmStatus;
import dev.boxd.verbs.Operations;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import dev.boxd.worker.reconcile.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verbs' operations for one account. Intent is written to the log (create, power, reboot,
 * destroy), then the VM's worker is asked to act on it now so the caller gets the result; the
 * data plane (exec, copy) goes to the worker directly. Another owner's VM is never found.
 */
public final class ControlOperations implements Operations {
  private static final Logger log = LoggerFactory.getLogger(ControlOperations.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String IMAGE = "debian-12";

  private final String userId;
  private final StateStore store;
  private final Workers workers;
  private final ControlConfig config;
  private final Clock clock;
  /** The VM the caller is inside of (the in-VM gateway's callers), by id; empty for other surfaces. */
  private final Optional<String> callerVmId;

  public ControlOperations(String userId, StateStore store, Workers workers, ControlConfig config, Clock clock) {
    this(userId, Optional.empty(), store, workers, config, clock);
  }

  private ControlOperations(String userId, Optional<String> callerVmId, StateStore store, Workers workers, ControlConfig config,
      Clock clock) {
    this.userId = userId;
    this.callerVmId = callerVmId;
    this.store = store;
    this.workers = workers;
    this.config = config;
    this.clock = clock;
  }

  /** The operations of a caller who is the VM {@code vm}: its owner's, with {@code vm} as the current VM. */
  public static ControlOperations insideVm(Vm vm, StateStore store, Workers workers, ControlConfig config, Clock clock) {
    return new ControlOperations(vm.ownerId(), Optional.of(vm.id()), store, workers, config, clock);
  }

  @Override
  public Optional<String> currentVm() {
    // By id: the name is the user's to change, the id is the VM's for life.
    return callerVmId;
  }

  @Override
  public VmView create(NewRequest request) {
    if (request.fromSnapshot().isPresent()) {
      return createFromSnapshot(request);
    }
    long started = System.nanoTime();
    MachineShape shape = shapeOf(request);
    String name = request.name().map(n -> Names.requireValid("VM name", n)).orElseGet(this::freshName);
    Vm vm = propose(name, (vmId, state) -> new Command.CreateVm(vmId, userId, name, shape.vcpus(), shape.memoryMib(),
        config.diskGb(), Placement.privateIp(state, config), Placement.publicIp(state, userId, config),
        Placement.worker(state, shape.memoryMib()), clock.instant()));
    request.autoSuspendSecs().ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    return view(awaitMade(vm, "new", started), (System.nanoTime() - started) / 1_000_000);
  }

  private VmView createFromSnapshot(NewRequest request) {
    long started = System.nanoTime();
    String snapshotName = request.fromSnapshot().orElseThrow();
    Snapshot snapshot = store.read().snapshotByName(userId, snapshotName)
        .orElseThrow(() -> BoxdException.notFound("no snapshot named " + Names.quote(snapshotName)));
    String name = request.name().map(n -> Names.requireValid("VM name", n)).orElseGet(this::freshName);
    Vm vm = propose(name, (vmId, state) -> new Command.CreateFromSnapshot(vmId, snapshot.id(), name, Placement.privateIp(state, config),
        Placement.publicIp(state, userId, config), clock.instant()));
    request.autoSuspendSecs().ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    return view(awaitMade(vm, "new --from-snapshot", started), (System.nanoTime() - started) / 1_000_000);
  }

  @Override
  public SnapshotView saveSnapshot(String vmRef, String name) {
    Names.requireValid("snapshot name", name);
    ClusterState state = store.read();
    if (state.snapshotByName(userId, name).isPresent()) {
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "a snapshot named " + Names.quote(name) + " already exists");
    }
    if (state.snapshotsOf(userId).size() >= ClusterState.MAX_SNAPSHOTS) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "snapshot limit reached: " + ClusterState.MAX_SNAPSHOTS
          + " of " + ClusterState.MAX_SNAPSHOTS + "; remove one with snapshot rm");
    }
    Vm vm = find(vmRef);
    requireNotGone(vm);
    if (vm.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + vm.name() + " is stopped: there is no memory to save");
    }
    if (vm.desired() == DesiredPower.HIBERNATED) {
      vm = usable(vmRef); // its memory is on disk: wake it to save it
    }
    String id = HexFormat.of().formatHex(randomBytes(8));
    var runtime = workers.runtime(vm.workerId());
    long bytes = runtime.saveSnapshot(vm.id(), id);
    var snapshot = new Snapshot(id, userId, name, vm.id(), vm.name(), vm.workerId(), vm.vcpus(), vm.memoryMib(), vm.diskGb(),
        clock.instant());
    Result result = store.propose(new Command.AddSnapshot(snapshot));
    if (result instanceof Result.Rejected) {
      runtime.deleteSnapshot(id); // the log said no (a name or the limit taken meanwhile): keep nothing
      result.orThrow();
    }
    return new SnapshotView(id, name, vm.name(), snapshot.createdAt().toString(), bytes);
  }

  @Override
  public List<SnapshotView> snapshots() {
    return store.read().snapshotsOf(userId).stream()
        .map(s -> new SnapshotView(s.id(), s.name(), s.sourceVmName(), s.createdAt().toString(), 0)).toList();
  }

  @Override
  public void removeSnapshot(String name) {
    Snapshot snapshot = store.read().snapshotByName(userId, name)
        .orElseThrow(() -> BoxdException.notFound("no snapshot named " + Names.quote(name)));
    store.propose(new Command.RemoveSnapshot(snapshot.id())).orThrow();
    workers.runtime(snapshot.workerId()).deleteSnapshot(snapshot.id());
  }

  // Set before the worker makes the VM, so the timeout holds from its first second.
  private void setAutoSuspendOf(Vm vm, int seconds) {
    try {
      store.propose(new Command.SetAutoSuspend(vm.id(), seconds)).orThrow();
    } catch (RuntimeException e) {
      store.propose(new Command.DestroyVm(vm.id()));
      throw e;
    }
  }

  @Override
  public ForkView fork(String sourceRef, Optional<String> requestedName, Optional<Integer> autoSuspendSecs) {
    long started = System.nanoTime();
    Vm source = find(sourceRef);
    requireNotGone(source);
    String name = requestedName.map(n -> Names.requireValid("VM name", n))
        .orElseGet(() -> Names.requireValid("VM name (the default, SOURCE-fork)", source.name() + "-fork"));
    Vm vm = propose(name, (vmId, state) -> new Command.ForkVm(vmId, source.id(), name, Placement.privateIp(state, config),
        Placement.publicIp(state, userId, config), clock.instant()));
    autoSuspendSecs.ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    return new ForkView(view(awaitMade(vm, "fork", started), (System.nanoTime() - started) / 1_000_000), source.name());
  }

  /**
   * Has the VM's worker make the VM just written to the log, and returns it running. Nothing
   * half-made may remain: a VM that failed is destroyed, freeing its name and quota.
   */
  private Vm awaitMade(Vm vm, String verb, long started) {
    long committed = System.nanoTime();
    try {
      workers.reconcileNow(vm.workerId(), vm.id(), store.read().appliedIndex());
    } catch (RuntimeException e) {
      log.warn("{} {} failed: {}", verb, vm.name(), e.getMessage());
      try {
        store.propose(new Command.DestroyVm(vm.id()));
        workers.reconcileNow(vm.workerId(), vm.id(), store.read().appliedIndex());
      } catch (RuntimeException cleanup) {
        // The worker retries the removal on its own; the caller hears the original failure.
        e.addSuppressed(cleanup);
      }
      throw e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, verb + " " + vm.name() + " failed: " + e.getMessage(), e);
    }
    log.info("{} {}: placed and committed in {} ms, made by worker {} in {} ms", verb, vm.name(), (committed - started) / 1_000_000,
        vm.workerId(), (System.nanoTime() - committed) / 1_000_000);
    Vm made = store.read().vm(vm.id()).orElseThrow();
    if (made.observed().status() != VmStatus.RUNNING) {
      throw new BoxdException(ErrorCode.INTERNAL, notUp(made));
    }
    return made;
  }

  /** Why a VM is not running after its worker made it; never without a cause, even when the worker gave none. */
  static String notUp(Vm vm) {
    String status = vm.observed().status().name().toLowerCase(java.util.Locale.ROOT);
    String detail = vm.observed().detail().strip();
    return "VM " + vm.name() + " did not come up: " + (detail.isEmpty()
        ? "it is " + status + " and worker " + vm.workerId() + " reported no reason (see the server log)"
        : detail + " (" + status + ")");
  }

  // The largest size is the account's (its quota's per-VM limit), checked where the log applies
  // the create: a size above it is refused there with RESOURCE_EXHAUSTED, naming the limit.
  private MachineShape shapeOf(NewRequest request) {
    MachineShape standard = config.defaultShape();
    return new MachineShape(request.vcpus().orElse(standard.vcpus()), request.memoryMib().orElse(standard.memoryMib()));
  }

  private String freshName() {
    ClusterState state = store.read();
    while (true) {
      String candidate = "vm-" + HexFormat.of().formatHex(randomBytes(3));
      if (state.vmByName(userId, candidate).isEmpty()) {
        return candidate;
      }
    }
  }

  // Addresses are picked from this replica; if another create took one first, the log rejects
  // the command and we pick again.
  private Vm propose(String name, java.util.function.BiFunction<String, ClusterState, Command> command) {
    for (int attempt = 0; ; attempt++) {
      ClusterState state = store.read();
      String vmId = HexFormat.of().formatHex(randomBytes(8));
      Result result = store.propose(command.apply(vmId, state));
      if (result instanceof Result.Rejected rejected && rejected.reason() == Result.Reason.ADDRESS_TAKEN && attempt < 5) {
        continue;
      }
      long index = result.orThrow().index();
      return store.readAtLeast(index, Duration.ofSeconds(30)).vm(vmId).orElseThrow();
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  @Override
  public List<VmView> list() {
    return store.read().vmsOf(userId).stream().map(vm -> view(vm, 0)).toList();
  }

  @Override
  public VmView info(String vm) {
    return view(find(vm), 0);
  }

  /** By name or id, among this account's VMs only. */
  private Vm find(String nameOrId) {
    if (nameOrId == null || nameOrId.isEmpty()) {
      throw BoxdException.invalid("missing VM name");
    }
    ClusterState state = store.read();
    return state.vmByName(userId, nameOrId)
        .or(() -> state.vm(nameOrId).filter(v -> v.ownerId().equals(userId)))
        .orElseThrow(() -> BoxdException.notFound("no VM named " + Names.quote(nameOrId)));
  }

  private Vm usable(String name) {
    Vm vm = find(name);
    if (vm.desired() == DesiredPower.DESTROYED) {
      throw BoxdException.precondition("VM " + vm.name() + " is being destroyed");
    }
    if (vm.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + vm.name() + " is stopped; start it first");
    }
    if (vm.desired() == DesiredPower.STANDBY || vm.desired() == DesiredPower.HIBERNATED) {
      // A verb aimed at a sleeping VM wakes it, as any inbound traffic would.
      setPower(vm, DesiredPower.RUNNING);
      return store.read().vm(vm.id()).orElseThrow();
    }
    return vm;
  }

  private Outcome setPower(Vm vm, DesiredPower power) {
    long index = store.propose(new Command.SetDesiredPower(vm.id(), power)).orThrow().index();
    return workers.reconcileNow(vm.workerId(), vm.id(), index);
  }

  @Override
  public int exec(String name, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    Vm vm = usable(name);
    ExecRequest request = ExecRequest.of(spec.command()).withEnv(spec.env()).withTimeout(spec.timeout().orElse(null));
    if (spec.tty().isPresent()) {
      Tty tty = spec.tty().get();
      request = request.withTty(new ExecRequest.WindowSize(tty.size().rows(), tty.size().cols()), tty.term());
    }
    ExecSession session = workers.runtime(vm.workerId()).exec(vm.id(), request, stdout, stderr);
    spec.tty().ifPresent(tty -> tty.resizes().subscribe(new ResizeForwarder(session)));
    Thread pump = Thread.ofVirtual().start(() -> {
      try (OutputStream in = session.stdin()) {
        stdin.transferTo(in);
      } catch (IOException | RuntimeException e) {
        // the client went away or the command ended: stop feeding it
      }
    });
    try {
      return session.awaitExit(Duration.ofDays(365));
    } finally {
      pump.interrupt();
      session.close();
    }
  }

  private record ResizeForwarder(ExecSession session) implements Flow.Subscriber<WindowSize> {
    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(WindowSize size) {
      try {
        session.resize(size.rows(), size.cols());
      } catch (IOException e) {
        // the session ended
      }
    }

    @Override
    public void onError(Throwable throwable) {}

    @Override
    public void onComplete() {}
  }

  @Override
  public long upload(String name, String path, int mode, InputStream data) {
    Vm vm = usable(name);
    return workers.runtime(vm.workerId()).upload(vm.id(), path, mode, data);
  }

  @Override
  public long download(String name, String path, OutputStream sink) {
    Vm vm = usable(name);
    return workers.runtime(vm.workerId()).download(vm.id(), path, sink).size();
  }

  @Override
  public long copy(String srcName, String srcPath, String dstName, String dstPath) {
    Vm src = usable(srcName);
    Vm dst = usable(dstName);
    return VmToVmCopy.copy(new VmToVmCopy.Side(workers.runtime(src.workerId()), src.id(), srcName, srcPath),
        new VmToVmCopy.Side(workers.runtime(dst.workerId()), dst.id(), dstName, dstPath));
  }

  @Override
  public long pause(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    return setPower(vm, DesiredPower.STANDBY).suspendMicros();
  }

  @Override
  public long resume(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    return setPower(vm, DesiredPower.RUNNING).resumeMicros();
  }

  @Override
  public VmView hibernate(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    if (vm.desired() == DesiredPower.STOPPED) {
      throw BoxdException.precondition("VM " + vm.name() + " is stopped: there is no memory to save");
    }
    setPower(vm, DesiredPower.HIBERNATED);
    return view(store.read().vm(vm.id()).orElseThrow(), 0);
  }

  @Override
  public VmView setAutoSuspend(String name, int seconds) {
    Vm vm = find(name);
    requireNotGone(vm);
    long index = store.propose(new Command.SetAutoSuspend(vm.id(), seconds)).orThrow().index();
    return view(store.readAtLeast(index, Duration.ofSeconds(30)).vm(vm.id()).orElseThrow(), 0);
  }

  @Override
  public VmView reboot(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    long index = store.propose(new Command.Reboot(vm.id())).orThrow().index();
    workers.reconcileNow(vm.workerId(), vm.id(), index);
    return view(store.read().vm(vm.id()).orElseThrow(), 0);
  }

  @Override
  public VmView stop(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    setPower(vm, DesiredPower.STOPPED);
    return view(store.read().vm(vm.id()).orElseThrow(), 0);
  }

  @Override
  public VmView start(String name) {
    Vm vm = find(name);
    requireNotGone(vm);
    setPower(vm, DesiredPower.RUNNING);
    return view(store.read().vm(vm.id()).orElseThrow(), 0);
  }

  private static void requireNotGone(Vm vm) {
    if (vm.desired() == DesiredPower.DESTROYED) {
      throw BoxdException.precondition("VM " + vm.name() + " is being destroyed");
    }
  }

  @Override
  public void destroy(String name) {
    Vm vm = find(name);
    if (callerVmId.filter(vm.id()::equals).isPresent()) {
      throw BoxdException.precondition("VM " + vm.name() + " cannot destroy itself: destroy it from another VM or over SSH");
    }
    long index = store.propose(new Command.DestroyVm(vm.id())).orThrow().index();
    workers.reconcileNow(vm.workerId(), vm.id(), index);
  }

  /** The user the SSH gateway logs into VMs as. */
  private static final String VM_USER = "boxd";

  @Override
  public SshConfig sshConfig() {
    String hostKey = config.vmSshHostKey()
        .orElseThrow(() -> BoxdException.precondition("direct SSH into VMs is not offered by this cluster"));
    List<SshHost> hosts = store.read().vmsOf(userId).stream()
        .filter(vm -> vm.desired() != DesiredPower.DESTROYED)
        .sorted(java.util.Comparator.comparing(Vm::name))
        .map(vm -> new SshHost(vm.name() + "." + config.zone(), vm.name(), vm.publicIp().toString(), config.vmSshPort(), VM_USER))
        .toList();
    return new SshConfig("boxd-vms." + config.zone(), hostKey, hosts);
  }

  @Override
  public Whoami whoami() {
    ClusterState state = store.read();
    User user = state.user(userId).orElseThrow(() -> BoxdException.notFound("account " + userId + " no longer exists"));
    return new Whoami(user.id(), user.name(), state.keysOf(userId).stream().map(SshKey::fingerprint).toList());
  }

  private VmView view(Vm vm, long bootTimeMs) {
    String status = vm.desired() == DesiredPower.DESTROYED ? "destroying" : vm.observed().status().name().toLowerCase();
    return new VmView(vm.id(), vm.name(), status, vm.ip().toString(), vm.publicIp().toString(), IMAGE,
        "https://" + vm.name() + "." + config.zone(), bootTimeMs, vm.vcpus(), (int) vm.memoryMib(), (int) vm.diskGb(),
        vm.createdAt().toString(), vm.autoSuspendSecs(), vm.observed().detail());
  }
}
