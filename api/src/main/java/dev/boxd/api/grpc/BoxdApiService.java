package dev.boxd.api.grpc;

import dev.boxd.api.auth.DeviceLogins;
import dev.boxd.api.v1.ApiKey;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.CopyFilesRequest;
import dev.boxd.api.v1.CopyFilesResponse;
import dev.boxd.api.v1.CreateApiKeyRequest;
import dev.boxd.api.v1.CreateApiKeyResponse;
import dev.boxd.api.v1.CreateProxyRequest;
import dev.boxd.api.v1.CreateVmRequest;
import dev.boxd.api.v1.CreateVmResponse;
import dev.boxd.api.v1.DeleteProxyRequest;
import dev.boxd.api.v1.DeleteProxyResponse;
import dev.boxd.api.v1.DeleteSnapshotRequest;
import dev.boxd.api.v1.DeleteSnapshotResponse;
import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.ListApiKeysRequest;
import dev.boxd.api.v1.ListApiKeysResponse;
import dev.boxd.api.v1.RevokeApiKeyRequest;
import dev.boxd.api.v1.DestroyVmResponse;
import dev.boxd.api.v1.DownloadFileRequest;
import dev.boxd.api.v1.DownloadFileResponse;
import dev.boxd.api.v1.ExchangeApiKeyRequest;
import dev.boxd.api.v1.ExchangeApiKeyResponse;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.api.v1.ExposePortRequest;
import dev.boxd.api.v1.ExposePortResponse;
import dev.boxd.api.v1.FileChunk;
import dev.boxd.api.v1.ForkVmRequest;
import dev.boxd.api.v1.ForkVmResponse;
import dev.boxd.api.v1.GetSshConfigRequest;
import dev.boxd.api.v1.GetSshConfigResponse;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.GetVmResponse;
import dev.boxd.api.v1.HibernateVmRequest;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.api.v1.ListDirResponse;
import dev.boxd.api.v1.ListExposedPortsRequest;
import dev.boxd.api.v1.ListExposedPortsResponse;
import dev.boxd.api.v1.ListProxiesRequest;
import dev.boxd.api.v1.ListProxiesResponse;
import dev.boxd.api.v1.ListSnapshotsRequest;
import dev.boxd.api.v1.ListSnapshotsResponse;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.ListVmsResponse;
import dev.boxd.api.v1.LogChunk;
import dev.boxd.api.v1.PauseVmRequest;
import dev.boxd.api.v1.PauseVmResponse;
import dev.boxd.api.v1.PollDeviceLoginRequest;
import dev.boxd.api.v1.PollDeviceLoginResponse;
import dev.boxd.api.v1.Proxy;
import dev.boxd.api.v1.RebootVmRequest;
import dev.boxd.api.v1.RebootVmResponse;
import dev.boxd.api.v1.ResumeVmRequest;
import dev.boxd.api.v1.ResumeVmResponse;
import dev.boxd.api.v1.SaveSnapshotRequest;
import dev.boxd.api.v1.SetAutoSuspendRequest;
import dev.boxd.api.v1.SetProxyPortRequest;
import dev.boxd.api.v1.SetProxyPortResponse;
import dev.boxd.api.v1.Snapshot;
import dev.boxd.api.v1.SshHost;
import dev.boxd.api.v1.StartDeviceLoginRequest;
import dev.boxd.api.v1.StartDeviceLoginResponse;
import dev.boxd.api.v1.StartVmRequest;
import dev.boxd.api.v1.StartVmResponse;
import dev.boxd.api.v1.StopVmRequest;
import dev.boxd.api.v1.StopVmResponse;
import dev.boxd.api.v1.StreamLogsRequest;
import dev.boxd.api.v1.UnexposePortRequest;
import dev.boxd.api.v1.UnexposePortResponse;
import dev.boxd.api.v1.UploadFileRequest;
import dev.boxd.api.v1.UploadFileResponse;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.api.v1.WhoamiResponse;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ImageNames;
import dev.boxd.verbs.Operations;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code boxd.api.v1.BoxdApi}: every RPC is a thin mapping onto the caller's {@link Operations}
 * (the same ones the SSH front door's verbs drive), with its fields checked as the verbs check
 * their flags. VMs are addressed by id or name wherever {@code Operations} takes either. The
 * caller's operations are what an interceptor put in the call's context ({@link #CALLER}):
 * {@link AuthInterceptor} for a token's user, {@link AddressInterceptor} for the VM a connection
 * comes from. For a VM, {@code GetVm} and {@code ForkVm} without a VM mean the VM itself, as
 * {@code info} and {@code fork} do inside a VM. The calls that get a client its token have no
 * caller and go to {@link Tokenless} with the caller's address instead.
 */
public final class BoxdApiService extends BoxdApiGrpc.BoxdApiImplBase {
  /** The operations of the call's caller, set by the interceptor that let the call in. */
  static final Context.Key<Operations> CALLER = Context.key("boxd-caller");

  private final Tokenless tokenless;
  private final Offload offload;
  private final FileTransfers files;

  public BoxdApiService(Tokenless tokenless, int maxConcurrentCalls) {
    this.tokenless = tokenless;
    this.offload = new Offload(maxConcurrentCalls);
    this.files = new FileTransfers(offload);
  }

  // Read on the call's own thread: the gRPC context does not follow the call onto its worker thread.
  private Operations caller() {
    Operations ops = CALLER.get();
    if (ops == null) {
      throw new IllegalStateException("BoxdApiService is served without an interceptor that names the caller");
    }
    return ops;
  }

  private static String source() {
    String source = AuthInterceptor.SOURCE.get();
    if (source == null) {
      throw new IllegalStateException("a token-less call is served without an interceptor that names its source");
    }
    return source;
  }

  @Override
  public void createVm(CreateVmRequest request, StreamObserver<CreateVmResponse> observer) {
    Operations ops = caller();
    offload.unary("create", observer, () -> {
      noOrg(request.getOrg());
      var create = new Operations.NewRequest(
          Requests.optionalName("name", request.getName()),
          request.hasVcpus() ? Optional.of(Requests.range("vcpus", request.getVcpus(), Requests.MAX_VCPUS, "vCPUs")) : Optional.empty(),
          request.hasMemoryMib() ? Optional.of(Requests.range("memory_mib", request.getMemoryMib(), Requests.MAX_MEMORY_MIB, "MiB"))
              : Optional.empty(),
          request.hasAutoSuspendTimeoutSecs()
              ? Optional.of(Requests.autoSuspend("auto_suspend_timeout_secs", request.getAutoSuspendTimeoutSecs())) : Optional.empty(),
          Requests.optionalName("from_snapshot", request.getFromSnapshot()),
          request.getImage().isEmpty() ? Optional.empty() : Optional.of(ImageNames.requireValid(request.getImage())),
          request.getIsolated());
      if (create.fromSnapshot().isPresent() && (create.vcpus().isPresent() || create.memoryMib().isPresent() || create.image().isPresent())) {
        throw BoxdException.invalid("from_snapshot takes the snapshot's size and image: leave vcpus, memory_mib and image unset");
      }
      return Views.created(ops.create(create));
    });
  }

  private static void noOrg(String org) {
    if (!org.isEmpty()) {
      throw BoxdException.invalid("organizations are not available on this server: leave org empty (it was \"" + org + "\")");
    }
  }

  @Override
  public void destroyVm(DestroyVmRequest request, StreamObserver<DestroyVmResponse> observer) {
    Operations ops = caller();
    offload.unary("destroy", observer, () -> {
      ops.destroy(Requests.vm("vm_id", request.getVmId()));
      return DestroyVmResponse.getDefaultInstance();
    });
  }

  @Override
  public void startVm(StartVmRequest request, StreamObserver<StartVmResponse> observer) {
    Operations ops = caller();
    offload.unary("start", observer, () -> {
      ops.start(Requests.vm("vm_id", request.getVmId()));
      return StartVmResponse.getDefaultInstance();
    });
  }

  @Override
  public void stopVm(StopVmRequest request, StreamObserver<StopVmResponse> observer) {
    Operations ops = caller();
    offload.unary("stop", observer, () -> {
      ops.stop(Requests.vm("vm_id", request.getVmId()));
      return StopVmResponse.getDefaultInstance();
    });
  }

  @Override
  public void rebootVm(RebootVmRequest request, StreamObserver<RebootVmResponse> observer) {
    Operations ops = caller();
    offload.unary("reboot", observer, () -> {
      ops.reboot(Requests.vm("vm_id", request.getVmId()));
      return RebootVmResponse.getDefaultInstance();
    });
  }

  @Override
  public void getVm(GetVmRequest request, StreamObserver<GetVmResponse> observer) {
    Operations ops = caller();
    offload.unary("info", observer, () -> Views.vm(ops.info(Requests.vmOrCurrent("vm_id", request.getVmId(), ops))));
  }

  @Override
  public void listVms(ListVmsRequest request, StreamObserver<ListVmsResponse> observer) {
    Operations ops = caller();
    offload.unary("list", observer, () -> {
      noOrg(request.getOrg());
      return ListVmsResponse.newBuilder().addAllVms(ops.list().stream().map(Views::vm).toList()).build();
    });
  }

  @Override
  public void exposePort(ExposePortRequest request, StreamObserver<ExposePortResponse> observer) {
    Operations ops = caller();
    offload.unary("expose", observer, () -> Views.exposed(ops.expose(Requests.vm("vm", request.getVm()),
        Requests.protocol(request.getProtocol()), Requests.port("vm_port", request.getVmPort()))));
  }

  @Override
  public void unexposePort(UnexposePortRequest request, StreamObserver<UnexposePortResponse> observer) {
    Operations ops = caller();
    offload.unary("unexpose", observer, () -> {
      ops.unexpose(Requests.vm("vm", request.getVm()), Requests.protocol(request.getProtocol()), Requests.port("vm_port", request.getVmPort()));
      return UnexposePortResponse.getDefaultInstance();
    });
  }

  @Override
  public void listExposedPorts(ListExposedPortsRequest request, StreamObserver<ListExposedPortsResponse> observer) {
    Operations ops = caller();
    offload.unary("exposures", observer, () -> {
      Optional<String> vm = request.getVm().isEmpty() ? Optional.empty() : Optional.of(Requests.vm("vm", request.getVm()));
      return ListExposedPortsResponse.newBuilder().addAllPorts(ops.exposures(vm).stream().map(Views::exposed).toList()).build();
    });
  }

  @Override
  public void whoami(WhoamiRequest request, StreamObserver<WhoamiResponse> observer) {
    Operations ops = caller();
    offload.unary("whoami", observer, () -> {
      var who = ops.whoami();
      return WhoamiResponse.newBuilder().setUserId(who.userId()).setName(who.name() == null ? "" : who.name())
          .addAllKeyFingerprints(who.keyFingerprints()).build();
    });
  }

  @Override
  public StreamObserver<ExecChunk> exec(StreamObserver<ExecChunk> observer) {
    return new ExecCall(caller(), (io.grpc.stub.ServerCallStreamObserver<ExecChunk>) observer, offload);
  }

  @Override
  public void forkVm(ForkVmRequest request, StreamObserver<ForkVmResponse> observer) {
    Operations ops = caller();
    offload.unary("fork", observer, () -> {
      var fork = ops.fork(Requests.vmOrCurrent("source_vm_id", request.getSourceVmId(), ops), Requests.optionalName("name", request.getName()),
          request.hasAutoSuspendTimeoutSecs()
              ? Optional.of(Requests.autoSuspend("auto_suspend_timeout_secs", request.getAutoSuspendTimeoutSecs())) : Optional.empty());
      return ForkVmResponse.newBuilder().setVmId(fork.vm().id()).setVm(Views.vm(fork.vm())).setForkedFrom(fork.forkedFrom()).build();
    });
  }

  @Override
  public void pauseVm(PauseVmRequest request, StreamObserver<PauseVmResponse> observer) {
    Operations ops = caller();
    offload.unary("pause", observer,
        () -> PauseVmResponse.newBuilder().setSuspendUs(ops.pause(Requests.vm("vm_id", request.getVmId()))).build());
  }

  @Override
  public void resumeVm(ResumeVmRequest request, StreamObserver<ResumeVmResponse> observer) {
    Operations ops = caller();
    offload.unary("resume", observer,
        () -> ResumeVmResponse.newBuilder().setResumeUs(ops.resume(Requests.vm("vm_id", request.getVmId()))).build());
  }

  @Override
  public void hibernateVm(HibernateVmRequest request, StreamObserver<GetVmResponse> observer) {
    Operations ops = caller();
    offload.unary("hibernate", observer, () -> Views.vm(ops.hibernate(Requests.vm("vm_id", request.getVmId()))));
  }

  @Override
  public void setAutoSuspend(SetAutoSuspendRequest request, StreamObserver<GetVmResponse> observer) {
    Operations ops = caller();
    offload.unary("auto-suspend", observer, () -> Views.vm(ops.setAutoSuspend(Requests.vm("vm_id", request.getVmId()),
        Requests.autoSuspend("timeout_secs", request.getTimeoutSecs()))));
  }

  @Override
  public void saveSnapshot(SaveSnapshotRequest request, StreamObserver<Snapshot> observer) {
    Operations ops = caller();
    offload.unary("snapshot-save", observer, () -> Views.snapshot(ops.saveSnapshot(Requests.vm("vm_id", request.getVmId()),
        Requests.name("name", request.getName()))));
  }

  @Override
  public void listSnapshots(ListSnapshotsRequest request, StreamObserver<ListSnapshotsResponse> observer) {
    Operations ops = caller();
    offload.unary("snapshot-list", observer,
        () -> ListSnapshotsResponse.newBuilder().addAllSnapshots(ops.snapshots().stream().map(Views::snapshot).toList()).build());
  }

  @Override
  public void deleteSnapshot(DeleteSnapshotRequest request, StreamObserver<DeleteSnapshotResponse> observer) {
    Operations ops = caller();
    offload.unary("snapshot-rm", observer, () -> {
      ops.removeSnapshot(Requests.name("name", request.getName()));
      return DeleteSnapshotResponse.getDefaultInstance();
    });
  }

  @Override
  public void listProxies(ListProxiesRequest request, StreamObserver<ListProxiesResponse> observer) {
    Operations ops = caller();
    offload.unary("proxy-list", observer, () -> {
      Optional<String> vm = request.getVmName().isEmpty() ? Optional.empty() : Optional.of(Requests.vm("vm_name", request.getVmName()));
      return ListProxiesResponse.newBuilder().addAllProxies(ops.proxies(vm).stream().map(Views::proxy).toList()).build();
    });
  }

  @Override
  public void createProxy(CreateProxyRequest request, StreamObserver<Proxy> observer) {
    Operations ops = caller();
    offload.unary("proxy-new", observer, () -> Views.proxy(ops.addProxy(Requests.vm("vm_name", request.getVmName()),
        Requests.name("name", request.getName()), Requests.port("port", request.getPort()))));
  }

  @Override
  public void setProxyPort(SetProxyPortRequest request, StreamObserver<SetProxyPortResponse> observer) {
    Operations ops = caller();
    offload.unary("proxy-set-port", observer, () -> {
      String name = request.getName().isEmpty() ? "default" : Requests.name("name", request.getName());
      OptionalInt port = request.getPort() == 0 ? OptionalInt.empty() : OptionalInt.of(Requests.port("port", request.getPort()));
      return SetProxyPortResponse.newBuilder()
          .setProxy(Views.proxy(ops.setProxyPort(Requests.vm("vm_name", request.getVmName()), name, port))).build();
    });
  }

  @Override
  public void deleteProxy(DeleteProxyRequest request, StreamObserver<DeleteProxyResponse> observer) {
    Operations ops = caller();
    offload.unary("proxy-delete", observer, () -> {
      ops.removeProxy(Requests.vm("vm_name", request.getVmName()), Requests.name("name", request.getName()));
      return DeleteProxyResponse.getDefaultInstance();
    });
  }

  @Override
  public void copyFiles(CopyFilesRequest request, StreamObserver<CopyFilesResponse> observer) {
    Operations ops = caller();
    offload.unary("cp", observer, () -> CopyFilesResponse.newBuilder().setBytesCopied(ops.copy(
        Requests.vm("src_vm", request.getSrcVm()), Requests.text("src_path", request.getSrcPath()),
        Requests.vm("dst_vm", request.getDstVm()), Requests.text("dst_path", request.getDstPath()))).build());
  }

  @Override
  public void uploadFile(UploadFileRequest request, StreamObserver<UploadFileResponse> observer) {
    files.upload(caller(), request, observer);
  }

  @Override
  public void downloadFile(DownloadFileRequest request, StreamObserver<DownloadFileResponse> observer) {
    files.download(caller(), request, observer);
  }

  @Override
  public StreamObserver<FileChunk> uploadFileStream(StreamObserver<UploadFileResponse> observer) {
    return files.uploadStream(caller(), observer);
  }

  @Override
  public void downloadFileStream(DownloadFileRequest request, StreamObserver<FileChunk> observer) {
    files.downloadStream(caller(), request, observer);
  }

  @Override
  public void streamLogs(StreamLogsRequest request, StreamObserver<LogChunk> observer) {
    GuestJournal.stream(caller(), offload, request, observer);
  }

  @Override
  public void createApiKey(CreateApiKeyRequest request, StreamObserver<CreateApiKeyResponse> observer) {
    Operations ops = caller();
    offload.unary("api-key-create", observer, () -> {
      long expiresIn = request.getExpiresInSecs();
      if (expiresIn > Requests.MAX_API_KEY_LIFETIME_SECS) {
        throw BoxdException.invalid("expires_in_secs is at most " + Requests.MAX_API_KEY_LIFETIME_SECS + " (ten years); 0 for a key that does not expire");
      }
      var made = ops.createApiKey(Requests.optionalName("name", request.getName()),
          expiresIn == 0 ? Optional.empty() : Optional.of(java.time.Duration.ofSeconds(expiresIn)));
      return CreateApiKeyResponse.newBuilder().setKey(Views.apiKey(made.key())).setSecret(made.secret()).build();
    });
  }

  @Override
  public void listApiKeys(ListApiKeysRequest request, StreamObserver<ListApiKeysResponse> observer) {
    Operations ops = caller();
    offload.unary("api-key-list", observer,
        () -> ListApiKeysResponse.newBuilder().addAllKeys(ops.apiKeys().stream().map(Views::apiKey).toList()).build());
  }

  @Override
  public void revokeApiKey(RevokeApiKeyRequest request, StreamObserver<ApiKey> observer) {
    Operations ops = caller();
    offload.unary("api-key-revoke", observer, () -> {
      if (request.getKey().isBlank()) {
        throw BoxdException.invalid("key is required: the id (key_…) or the name of the API key to revoke");
      }
      return Views.apiKey(ops.revokeApiKey(request.getKey()));
    });
  }

  @Override
  public void listDir(ListDirRequest request, StreamObserver<ListDirResponse> observer) {
    Operations ops = caller();
    offload.unary("list-dir", observer, () -> DirListing.list(ops, request));
  }

  @Override
  public void getSshConfig(GetSshConfigRequest request, StreamObserver<GetSshConfigResponse> observer) {
    Operations ops = caller();
    offload.unary("ssh-config", observer, () -> {
      var config = ops.sshConfig();
      return GetSshConfigResponse.newBuilder().setHostKey(config.hostKey()).setHostKeyAlias(config.hostKeyAlias())
          .addAllHosts(config.hosts().stream().map(h -> SshHost.newBuilder().setAlias(h.alias()).setVm(h.vm()).setHostName(h.hostName())
              .setPort(h.port()).setUser(h.user()).build()).toList())
          .build();
    });
  }

  @Override
  public void exchangeApiKey(ExchangeApiKeyRequest request, StreamObserver<ExchangeApiKeyResponse> observer) {
    String source = source();
    offload.unary("exchange", observer, () -> {
      var issued = tokenless.exchange(request.getApiKey(), source);
      return ExchangeApiKeyResponse.newBuilder().setToken(issued.token()).setExpiresAt(issued.expiresAt().getEpochSecond())
          .setUserId(issued.userId()).build();
    });
  }

  @Override
  public void startDeviceLogin(StartDeviceLoginRequest request, StreamObserver<StartDeviceLoginResponse> observer) {
    String source = source();
    offload.unary("device-login-start", observer, () -> {
      var started = tokenless.startDeviceLogin(new DeviceLogins.Request(request.getPublicKey(), request.getDeviceName(),
          request.getKeySignature(), request.getSignedAt()), source);
      return StartDeviceLoginResponse.newBuilder().setUrl(started.url()).setCode(started.code()).setPollToken(started.pollToken())
          .setExpiresAt(started.expiresAt().getEpochSecond()).setIntervalSecs(started.intervalSecs()).build();
    });
  }

  @Override
  public void pollDeviceLogin(PollDeviceLoginRequest request, StreamObserver<PollDeviceLoginResponse> observer) {
    String source = source();
    offload.unary("device-login-poll", observer, () -> {
      var polled = tokenless.pollDeviceLogin(request.getPollToken(), source);
      return PollDeviceLoginResponse.newBuilder().setLinked(polled.linked()).setApiKey(polled.apiKey()).setUserId(polled.userId())
          .setApiKeyId(polled.apiKeyId()).build();
    });
  }
}
