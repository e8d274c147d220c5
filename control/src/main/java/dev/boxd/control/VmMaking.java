package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.ImageNames;
import dev.boxd.core.MachineShape;
import dev.boxd.core.Names;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmStatus;
import dev.boxd.verbs.Operations.ForkView;
import dev.boxd.verbs.Operations.NewRequest;
import dev.boxd.verbs.Operations.VmView;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Making VMs and removing them: a new VM, one from a snapshot, a fork, a destroy. The VM is written
 * to the log with its placement and addresses, then its worker is asked to make it now, so the
 * caller gets it running; a VM that could not be made is destroyed again, leaving nothing.
 */
final class VmMaking {
  private static final Logger log = LoggerFactory.getLogger(VmMaking.class);
  /** Tries to pick free addresses again when another create took the ones picked first. */
  private static final int ADDRESS_RETRIES = 5;

  private final AccountScope scope;

  VmMaking(AccountScope scope) {
    this.scope = scope;
  }

  VmView create(NewRequest request) {
    if (request.fromSnapshot().isPresent()) {
      return createFromSnapshot(request);
    }
    long started = System.nanoTime();
    MachineShape shape = shapeOf(request);
    String name = request.name().map(n -> Names.requireValid("VM name", n)).orElseGet(scope::freshName);
    ControlConfig config = scope.config();
    String userId = scope.userId();
    String image = request.image().map(ImageNames::requireValid).orElse("");
    // The worker it goes to must hold a named image; asked before anything is written or allocated.
    String workerId = Placement.worker(scope.store().read(), shape.memoryMib());
    if (!image.isEmpty() && !scope.workers().worker(workerId).hasImage(image)) {
      throw BoxdException.notFound("no image named " + Names.quote(image) + " on worker " + workerId
          + ": boxd image list on its host shows the images there; make one with boxd image import FILE --name=" + image);
    }
    Vm vm = propose((vmId, state) -> new Command.CreateVm(vmId, userId, name, shape.vcpus(), shape.memoryMib(),
        config.diskGb(), Placement.privateIp(state, config), Placement.publicIp(state, userId, config),
        image.isEmpty() ? Placement.worker(state, shape.memoryMib()) : workerId, scope.clock().instant(), image, request.isolated()));
    request.autoSuspendSecs().ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    giveSshPort(vm);
    return scope.view(awaitMade(vm, "new", started), (System.nanoTime() - started) / 1_000_000);
  }

  private VmView createFromSnapshot(NewRequest request) {
    long started = System.nanoTime();
    String snapshotName = request.fromSnapshot().orElseThrow();
    Snapshot snapshot = scope.store().read().snapshotByName(scope.userId(), snapshotName)
        .orElseThrow(() -> BoxdException.notFound("no snapshot named " + Names.quote(snapshotName)));
    // The log takes a VM's isolation from its snapshot (CreateFromSnapshot has no flag of its own),
    // so it cannot be asked for here: refused rather than quietly made a VM that is not isolated.
    if (request.isolated() && !snapshot.isolated()) {
      throw BoxdException.invalid("snapshot " + Names.quote(snapshotName) + " is of a VM that is not isolated, and a VM from a"
          + " snapshot is isolated exactly when the snapshot's VM was: drop --isolated, or start from a snapshot of an isolated VM"
          + " (new --isolated, set it up, snapshot save)");
    }
    String name = request.name().map(n -> Names.requireValid("VM name", n)).orElseGet(scope::freshName);
    ControlConfig config = scope.config();
    Vm vm = propose((vmId, state) -> new Command.CreateFromSnapshot(vmId, snapshot.id(), name, Placement.privateIp(state, config),
        Placement.publicIp(state, scope.userId(), config), scope.clock().instant()));
    request.autoSuspendSecs().ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    giveSshPort(vm);
    return scope.view(awaitMade(vm, "new --from-snapshot", started), (System.nanoTime() - started) / 1_000_000);
  }

  ForkView fork(String sourceRef, Optional<String> requestedName, Optional<Integer> autoSuspendSecs) {
    long started = System.nanoTime();
    Vm source = scope.findLiving(sourceRef);
    String name = requestedName.map(n -> Names.requireValid("VM name", n))
        .orElseGet(() -> Names.requireValid("VM name (the default, SOURCE-fork)", source.name() + "-fork"));
    ControlConfig config = scope.config();
    Vm vm = propose((vmId, state) -> new Command.ForkVm(vmId, source.id(), name, Placement.privateIp(state, config),
        Placement.publicIp(state, scope.userId(), config), scope.clock().instant()));
    autoSuspendSecs.ifPresent(seconds -> setAutoSuspendOf(vm, seconds));
    giveSshPort(vm);
    return new ForkView(scope.view(awaitMade(vm, "fork", started), (System.nanoTime() - started) / 1_000_000), source.name());
  }

  void destroy(String name) {
    Vm vm = scope.find(name);
    if (scope.callerVmId().filter(vm.id()::equals).isPresent()) {
      throw BoxdException.precondition("VM " + vm.name() + " cannot destroy itself: destroy it from another VM or over SSH");
    }
    long index = scope.store().propose(new Command.DestroyVm(vm.id())).orThrow().index();
    scope.workerOf(vm).reconcileNow(vm.id(), index);
  }

  // Set before the worker makes the VM, so the timeout holds from its first second.
  private void setAutoSuspendOf(Vm vm, int seconds) {
    try {
      scope.store().propose(new Command.SetAutoSuspend(vm.id(), seconds)).orThrow();
    } catch (RuntimeException e) {
      scope.store().propose(new Command.DestroyVm(vm.id()));
      throw e;
    }
  }

  /**
   * Gives the VM just written its own port of direct SSH (SPEC §12), picked from this replica; if
   * another VM took it meanwhile the log refuses it and another is picked. A VM that cannot get
   * one is destroyed again, as any VM that could not be made.
   */
  private void giveSshPort(Vm vm) {
    try {
      for (int attempt = 0; ; attempt++) {
        ClusterState state = scope.store().read();
        int port = Placement.freePort(state.usedSshPorts(), Vm.MIN_SSH_PORT, Vm.MAX_SSH_PORT, scope.config().vmSshPort(), scope.random(),
            "SSH port");
        Result result = scope.store().propose(new Command.SetSshPort(vm.id(), port));
        if (result instanceof Result.Rejected rejected && rejected.reason() == Result.Reason.PORT_TAKEN && attempt < ADDRESS_RETRIES) {
          continue;
        }
        result.orThrow();
        return;
      }
    } catch (RuntimeException e) {
      scope.store().propose(new Command.DestroyVm(vm.id()));
      throw e;
    }
  }

  /**
   * Has the VM's worker make the VM just written to the log, and returns it running. Nothing
   * half-made may remain: a VM that failed is destroyed, freeing its name and quota.
   */
  private Vm awaitMade(Vm vm, String verb, long started) {
    long committed = System.nanoTime();
    var worker = scope.workerOf(vm);
    try {
      worker.reconcileNow(vm.id(), scope.store().read().appliedIndex());
    } catch (RuntimeException e) {
      log.warn("{} {} failed: {}", verb, vm.name(), e.getMessage());
      try {
        scope.store().propose(new Command.DestroyVm(vm.id()));
        worker.reconcileNow(vm.id(), scope.store().read().appliedIndex());
      } catch (RuntimeException cleanup) {
        // The worker retries the removal on its own; the caller hears the original failure.
        e.addSuppressed(cleanup);
      }
      throw e instanceof BoxdException b ? b : new BoxdException(ErrorCode.INTERNAL, verb + " " + vm.name() + " failed: " + e.getMessage(), e);
    }
    log.info("{} {}: placed and committed in {} ms, made by worker {} in {} ms", verb, vm.name(), (committed - started) / 1_000_000,
        vm.workerId(), (System.nanoTime() - committed) / 1_000_000);
    Vm made = scope.reread(vm);
    if (made.observed().status() != VmStatus.RUNNING) {
      throw new BoxdException(ErrorCode.INTERNAL, notUp(made));
    }
    return made;
  }

  /** Why a VM is not running after its worker made it; never without a cause, even when the worker gave none. */
  static String notUp(Vm vm) {
    String status = vm.observed().status().name().toLowerCase(Locale.ROOT);
    String detail = vm.observed().detail().strip();
    return "VM " + vm.name() + " did not come up: " + (detail.isEmpty()
        ? "it is " + status + " and worker " + vm.workerId() + " reported no reason (see the server log)"
        : detail + " (" + status + ")");
  }

  // The largest size is the account's (its quota's per-VM limit), checked where the log applies
  // the create: a size above it is refused there with RESOURCE_EXHAUSTED, naming the limit.
  private MachineShape shapeOf(NewRequest request) {
    MachineShape standard = scope.config().defaultShape();
    return new MachineShape(request.vcpus().orElse(standard.vcpus()), request.memoryMib().orElse(standard.memoryMib()));
  }

  private static String nameOf(Command command) {
    return switch (command) {
      case Command.CreateVm c -> c.name();
      case Command.ForkVm c -> c.name();
      case Command.CreateFromSnapshot c -> c.name();
      default -> "";
    };
  }

  // Addresses are picked from this replica; if another create took one first, the log rejects
  // the command and we pick again.
  private Vm propose(BiFunction<String, ClusterState, Command> command) {
    for (int attempt = 0; ; attempt++) {
      ClusterState state = scope.store().read();
      String vmId = scope.newId();
      Command proposed = command.apply(vmId, state);
      Result result = scope.store().propose(proposed);
      if (result instanceof Result.Rejected rejected && rejected.reason() == Result.Reason.ADDRESS_TAKEN && attempt < ADDRESS_RETRIES) {
        continue;
      }
      if (result instanceof Result.Rejected rejected && rejected.reason() == Result.Reason.NAME_TAKEN) {
        String name = nameOf(proposed);
        throw new BoxdException(ErrorCode.ALREADY_EXISTS, "the name " + Names.quote(name) + " is taken: VM names are public host names ("
            + name + "." + scope.config().zone() + "); choose another");
      }
      long index = result.orThrow().index();
      return scope.store().readAtLeast(index, Duration.ofSeconds(30)).vm(vmId).orElseThrow();
    }
  }
}
