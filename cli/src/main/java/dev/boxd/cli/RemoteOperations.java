package dev.boxd.cli;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.CopyFilesRequest;
import dev.boxd.api.v1.CreateApiKeyRequest;
import dev.boxd.api.v1.CreateProxyRequest;
import dev.boxd.api.v1.CreateVmRequest;
import dev.boxd.api.v1.DeleteProxyRequest;
import dev.boxd.api.v1.DeleteSnapshotRequest;
import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.ExposePortRequest;
import dev.boxd.api.v1.ForkVmRequest;
import dev.boxd.api.v1.GetSshConfigRequest;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.HibernateVmRequest;
import dev.boxd.api.v1.ListApiKeysRequest;
import dev.boxd.api.v1.ListExposedPortsRequest;
import dev.boxd.api.v1.ListProxiesRequest;
import dev.boxd.api.v1.ListSnapshotsRequest;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.PauseVmRequest;
import dev.boxd.api.v1.RebootVmRequest;
import dev.boxd.api.v1.ResumeVmRequest;
import dev.boxd.api.v1.RevokeApiKeyRequest;
import dev.boxd.api.v1.SaveSnapshotRequest;
import dev.boxd.api.v1.SetAutoSuspendRequest;
import dev.boxd.api.v1.SetProxyPortRequest;
import dev.boxd.api.v1.StartVmRequest;
import dev.boxd.api.v1.StopVmRequest;
import dev.boxd.api.v1.UnexposePortRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.verbs.Operations;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The verbs' {@link Operations} over the gRPC API: what makes the laptop CLI run every verb with the
 * same flags, text and JSON as over SSH (the verbs module parses and renders; this only moves
 * calls). The server scopes every call to the token's account.
 */
final class RemoteOperations implements Operations {
  /** Unary calls must finish inside 30 s (SPEC §12); making, forking and powering a VM may wait on the VM itself. */
  static final Duration UNARY = Duration.ofSeconds(30);
  static final Duration SLOW = Duration.ofSeconds(300);

  private final BoxdApiGrpc.BoxdApiBlockingStub blocking;
  private final BoxdApiGrpc.BoxdApiStub async;
  private final String apiUrl;
  private final String org;
  private final Progress progress;

  RemoteOperations(BoxdApiGrpc.BoxdApiBlockingStub blocking, BoxdApiGrpc.BoxdApiStub async, String apiUrl, String org, Progress progress) {
    this.blocking = blocking;
    this.async = async;
    this.apiUrl = apiUrl;
    this.org = org;
    this.progress = progress;
  }

  private <T> T call(Duration deadline, Function<BoxdApiGrpc.BoxdApiBlockingStub, T> rpc) {
    try {
      return rpc.apply(blocking.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
    } catch (StatusRuntimeException e) {
      throw ApiErrors.of(e, apiUrl);
    }
  }

  @Override
  public VmView create(NewRequest request) {
    var create = CreateVmRequest.newBuilder().setOrg(org).setIsolated(request.isolated());
    request.name().ifPresent(create::setName);
    request.vcpus().ifPresent(create::setVcpus);
    request.memoryMib().ifPresent(create::setMemoryMib);
    request.autoSuspendSecs().ifPresent(create::setAutoSuspendTimeoutSecs);
    request.fromSnapshot().ifPresent(create::setFromSnapshot);
    request.image().ifPresent(create::setImage);
    return ApiViews.vm(call(SLOW, api -> api.createVm(create.build())).getVm());
  }

  @Override
  public List<VmView> list() {
    return call(UNARY, api -> api.listVms(ListVmsRequest.newBuilder().setOrg(org).build())).getVmsList().stream().map(ApiViews::vm).toList();
  }

  @Override
  public VmView info(String vm) {
    return ApiViews.vm(call(UNARY, api -> api.getVm(GetVmRequest.newBuilder().setVmId(vm).build())));
  }

  @Override
  public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
    var fork = ForkVmRequest.newBuilder().setSourceVmId(source);
    name.ifPresent(fork::setName);
    autoSuspendSecs.ifPresent(fork::setAutoSuspendTimeoutSecs);
    var answer = call(SLOW, api -> api.forkVm(fork.build()));
    return new ForkView(ApiViews.vm(answer.getVm()), answer.getForkedFrom());
  }

  @Override
  public int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    return new RemoteExec(async, apiUrl).run(vm, spec, stdin, stdout, stderr);
  }

  @Override
  public long upload(String vm, String path, int mode, InputStream data) {
    return new RemoteFiles(blocking, async, apiUrl).upload(vm, path, mode, progress.counting(data, "upload"));
  }

  @Override
  public long download(String vm, String path, OutputStream sink) {
    return new RemoteFiles(blocking, async, apiUrl).download(vm, path, progress.counting(sink, "download"));
  }

  @Override
  public long copy(String srcVm, String srcPath, String dstVm, String dstPath) {
    return call(SLOW, api -> api.copyFiles(CopyFilesRequest.newBuilder().setSrcVm(srcVm).setSrcPath(srcPath).setDstVm(dstVm)
        .setDstPath(dstPath).build())).getBytesCopied();
  }

  @Override
  public long pause(String vm) {
    return call(SLOW, api -> api.pauseVm(PauseVmRequest.newBuilder().setVmId(vm).build())).getSuspendUs();
  }

  @Override
  public long resume(String vm) {
    return call(SLOW, api -> api.resumeVm(ResumeVmRequest.newBuilder().setVmId(vm).build())).getResumeUs();
  }

  @Override
  public VmView reboot(String vm) {
    call(SLOW, api -> api.rebootVm(RebootVmRequest.newBuilder().setVmId(vm).build()));
    return info(vm);
  }

  @Override
  public VmView hibernate(String vm) {
    return ApiViews.vm(call(SLOW, api -> api.hibernateVm(HibernateVmRequest.newBuilder().setVmId(vm).build())));
  }

  @Override
  public VmView setAutoSuspend(String vm, int seconds) {
    return ApiViews.vm(call(UNARY, api -> api.setAutoSuspend(SetAutoSuspendRequest.newBuilder().setVmId(vm).setTimeoutSecs(seconds).build())));
  }

  @Override
  public VmView stop(String vm) {
    call(SLOW, api -> api.stopVm(StopVmRequest.newBuilder().setVmId(vm).build()));
    return info(vm);
  }

  @Override
  public VmView start(String vm) {
    call(SLOW, api -> api.startVm(StartVmRequest.newBuilder().setVmId(vm).build()));
    return info(vm);
  }

  @Override
  public void destroy(String vm) {
    call(SLOW, api -> api.destroyVm(DestroyVmRequest.newBuilder().setVmId(vm).build()));
  }

  @Override
  public SnapshotView saveSnapshot(String vm, String name) {
    return ApiViews.snapshot(call(SLOW, api -> api.saveSnapshot(SaveSnapshotRequest.newBuilder().setVmId(vm).setName(name).build())));
  }

  @Override
  public List<SnapshotView> snapshots() {
    return call(UNARY, api -> api.listSnapshots(ListSnapshotsRequest.getDefaultInstance())).getSnapshotsList().stream().map(ApiViews::snapshot).toList();
  }

  @Override
  public void removeSnapshot(String name) {
    call(SLOW, api -> api.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setName(name).build()));
  }

  @Override
  public SshConfig sshConfig() {
    var config = call(UNARY, api -> api.getSshConfig(GetSshConfigRequest.getDefaultInstance()));
    return new SshConfig(config.getHostKeyAlias(), config.getHostKey(), config.getHostsList().stream()
        .map(h -> new SshHost(h.getAlias(), h.getVm(), h.getHostName(), h.getPort(), h.getUser())).toList());
  }

  @Override
  public List<ProxyView> proxies(Optional<String> vm) {
    return call(UNARY, api -> api.listProxies(ListProxiesRequest.newBuilder().setVmName(vm.orElse("")).build())).getProxiesList().stream()
        .map(ApiViews::proxy).toList();
  }

  @Override
  public ProxyView addProxy(String vm, String name, int port) {
    return ApiViews.proxy(call(UNARY, api -> api.createProxy(CreateProxyRequest.newBuilder().setVmName(vm).setName(name).setPort(port).build())));
  }

  @Override
  public ProxyView setProxyPort(String vm, String name, OptionalInt port) {
    return ApiViews.proxy(call(UNARY, api -> api.setProxyPort(SetProxyPortRequest.newBuilder().setVmName(vm).setName(name.equals("default") ? "" : name)
        .setPort(port.orElse(0)).build())).getProxy());
  }

  @Override
  public void removeProxy(String vm, String name) {
    call(UNARY, api -> api.deleteProxy(DeleteProxyRequest.newBuilder().setVmName(vm).setName(name).build()));
  }

  @Override
  public ExposeView expose(String vm, String protocol, int vmPort) {
    return ApiViews.exposed(call(UNARY, api -> api.exposePort(ExposePortRequest.newBuilder().setVm(vm).setProtocol(protocol).setVmPort(vmPort).build())));
  }

  @Override
  public void unexpose(String vm, String protocol, int vmPort) {
    call(UNARY, api -> api.unexposePort(UnexposePortRequest.newBuilder().setVm(vm).setProtocol(protocol).setVmPort(vmPort).build()));
  }

  @Override
  public List<ExposeView> exposures(Optional<String> vm) {
    return call(UNARY, api -> api.listExposedPorts(ListExposedPortsRequest.newBuilder().setVm(vm.orElse("")).build())).getPortsList().stream()
        .map(ApiViews::exposed).toList();
  }

  @Override
  public NewApiKey createApiKey(Optional<String> name, Optional<Duration> expiresIn) {
    var answer = call(UNARY, api -> api.createApiKey(CreateApiKeyRequest.newBuilder().setName(name.orElse(""))
        .setExpiresInSecs(expiresIn.map(Duration::toSeconds).orElse(0L)).build()));
    return new NewApiKey(ApiViews.apiKey(answer.getKey()), answer.getSecret());
  }

  @Override
  public List<ApiKeyView> apiKeys() {
    return call(UNARY, api -> api.listApiKeys(ListApiKeysRequest.getDefaultInstance())).getKeysList().stream().map(ApiViews::apiKey).toList();
  }

  @Override
  public ApiKeyView revokeApiKey(String idOrName) {
    return ApiViews.apiKey(call(UNARY, api -> api.revokeApiKey(RevokeApiKeyRequest.newBuilder().setKey(idOrName).build())));
  }

  @Override
  public Whoami whoami() {
    var who = call(UNARY, api -> api.whoami(WhoamiRequest.getDefaultInstance()));
    return new Whoami(who.getUserId(), who.getName(), who.getKeyFingerprintsList());
  }
}
