package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.SshKey;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.User;
import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations;
import dev.boxd.workerport.Workers;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The verbs' operations for one account. Intent is written to the log, then the VM's worker is
 * asked through its port to act on it now so the caller gets the result; the data plane goes to
 * the worker directly. Another owner's VM is never found. The work is in parts, one concern each:
 * {@link VmMaking}, {@link VmPower}, {@link SnapshotOperations}, {@link GuestIo},
 * {@link EdgeOperations}, {@link ApiKeyOperations}.
 */
public final class ControlOperations implements Operations {
  /** The user the SSH gateway logs into VMs as. */
  private static final String VM_USER = "boxd";

  private final AccountScope scope;
  private final VmMaking making;
  private final VmPower power;
  private final SnapshotOperations snapshots;
  private final GuestIo guest;
  private final EdgeOperations edge;
  private final ApiKeyOperations apiKeys;

  public ControlOperations(String userId, StateStore store, Workers workers, ControlConfig config, Clock clock) {
    this(new AccountScope(userId, Optional.empty(), store, workers, config, clock));
  }

  private ControlOperations(AccountScope scope) {
    this.scope = scope;
    this.making = new VmMaking(scope);
    this.power = new VmPower(scope);
    this.snapshots = new SnapshotOperations(scope);
    this.guest = new GuestIo(scope);
    this.edge = new EdgeOperations(scope);
    this.apiKeys = new ApiKeyOperations(scope);
  }

  /** The operations of a caller who is the VM {@code vm}: its owner's, with {@code vm} as the current VM. */
  public static ControlOperations insideVm(Vm vm, StateStore store, Workers workers, ControlConfig config, Clock clock) {
    return new ControlOperations(new AccountScope(vm.ownerId(), Optional.of(vm.id()), store, workers, config, clock));
  }

  @Override
  public Optional<String> currentVm() {
    // By id: the name is the user's to change, the id is the VM's for life.
    return scope.callerVmId();
  }

  @Override
  public VmView create(NewRequest request) {
    return making.create(request);
  }

  @Override
  public ForkView fork(String sourceRef, Optional<String> requestedName, Optional<Integer> autoSuspendSecs) {
    return making.fork(sourceRef, requestedName, autoSuspendSecs);
  }

  @Override
  public void destroy(String name) {
    making.destroy(name);
  }

  @Override
  public List<VmView> list() {
    return scope.store().read().vmsOf(scope.userId()).stream().map(vm -> scope.view(vm, 0)).toList();
  }

  @Override
  public VmView info(String vm) {
    Vm found = scope.find(vm);
    VmView view = scope.view(found, 0);
    return scope.egressOf(found).map(view::withEgress).orElse(view);
  }

  @Override
  public SnapshotView saveSnapshot(String vmRef, String name) {
    return snapshots.save(vmRef, name);
  }

  @Override
  public List<SnapshotView> snapshots() {
    return snapshots.list();
  }

  @Override
  public void removeSnapshot(String name) {
    snapshots.remove(name);
  }

  @Override
  public long pause(String name) {
    return power.pause(name);
  }

  @Override
  public long resume(String name) {
    return power.resume(name);
  }

  @Override
  public VmView hibernate(String name) {
    return power.hibernate(name);
  }

  @Override
  public VmView setAutoSuspend(String name, int seconds) {
    return power.setAutoSuspend(name, seconds);
  }

  @Override
  public VmView reboot(String name) {
    return power.reboot(name);
  }

  @Override
  public VmView stop(String name) {
    return power.stop(name);
  }

  @Override
  public VmView start(String name) {
    return power.start(name);
  }

  @Override
  public int exec(String name, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    return guest.exec(name, spec, stdin, stdout, stderr);
  }

  @Override
  public long upload(String name, String path, int mode, InputStream data) {
    return guest.upload(name, path, mode, data);
  }

  @Override
  public long download(String name, String path, OutputStream sink) {
    return guest.download(name, path, sink);
  }

  @Override
  public long copy(String srcName, String srcPath, String dstName, String dstPath) {
    return guest.copy(srcName, srcPath, dstName, dstPath);
  }

  @Override
  public SshConfig sshConfig() {
    ControlConfig config = scope.config();
    String hostKey = config.vmSshHostKey()
        .orElseThrow(() -> BoxdException.precondition("direct SSH into VMs is not offered by this cluster"));
    List<SshHost> hosts = scope.store().read().vmsOf(scope.userId()).stream()
        .filter(vm -> vm.desired() != DesiredPower.DESTROYED)
        .sorted(Comparator.comparing(Vm::name))
        .map(vm -> vm.hasSshPort()
            ? new SshHost(scope.domainOf(vm), vm.name(), config.edgeAddress(), vm.sshPort(), VM_USER)
            // a VM made before VMs had a port of their own: through the gateway at its public address
            : new SshHost(scope.domainOf(vm), vm.name(), vm.publicIp().toString(), config.vmSshPort(), VM_USER))
        .toList();
    return new SshConfig("boxd-vms." + config.zone(), hostKey, hosts);
  }

  @Override
  public List<ProxyView> proxies(Optional<String> vm) {
    return edge.proxies(vm);
  }

  @Override
  public ProxyView addProxy(String vm, String name, int port) {
    return edge.add(vm, name, port);
  }

  @Override
  public ProxyView setProxyPort(String vm, String name, java.util.OptionalInt port) {
    return edge.setPort(vm, name, port);
  }

  @Override
  public void removeProxy(String vm, String name) {
    edge.remove(vm, name);
  }

  @Override
  public ExposeView expose(String vm, String protocol, int vmPort) {
    return edge.expose(vm, protocol, vmPort);
  }

  @Override
  public void unexpose(String vm, String protocol, int vmPort) {
    edge.unexpose(vm, protocol, vmPort);
  }

  @Override
  public List<ExposeView> exposures(Optional<String> vm) {
    return edge.exposures(vm);
  }

  @Override
  public NewApiKey createApiKey(Optional<String> name, Optional<java.time.Duration> expiresIn) {
    return apiKeys.create(name, expiresIn);
  }

  @Override
  public List<ApiKeyView> apiKeys() {
    return apiKeys.list();
  }

  @Override
  public ApiKeyView revokeApiKey(String idOrName) {
    return apiKeys.revoke(idOrName);
  }

  @Override
  public Whoami whoami() {
    ClusterState state = scope.store().read();
    User user = state.user(scope.userId()).orElseThrow(() -> BoxdException.notFound("account " + scope.userId() + " no longer exists"));
    return new Whoami(user.id(), user.name(), state.keysOf(scope.userId()).stream().map(SshKey::fingerprint).toList());
  }
}
