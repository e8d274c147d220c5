package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.CreateProxyRequest;
import dev.boxd.api.v1.CreateVmRequest;
import dev.boxd.api.v1.DeleteProxyRequest;
import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.ExposePortRequest;
import dev.boxd.api.v1.ForkVmRequest;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.ListExposedPortsRequest;
import dev.boxd.api.v1.ListProxiesRequest;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.PauseVmRequest;
import dev.boxd.api.v1.RebootVmRequest;
import dev.boxd.api.v1.ResumeVmRequest;
import dev.boxd.api.v1.SetProxyPortRequest;
import dev.boxd.api.v1.StartVmRequest;
import dev.boxd.api.v1.StopVmRequest;
import dev.boxd.api.v1.UnexposePortRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each unary RPC over the caller's Operations (the shared fake), its fields, and the statuses of its failures. */
class BoxdApiServiceTest {
  private InProcessApi api;

  private BoxdApiGrpc.BoxdApiBlockingStub over(FakeOperations ops) throws Exception {
    api = new InProcessApi(ops);
    return api.blocking();
  }

  @AfterEach
  void close() throws Exception {
    if (api != null) {
      api.close();
    }
  }

  private static Status.Code code(Runnable call) {
    return status(call).getCode();
  }

  private static Status status(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call fails").isNotNull();
    assertThat(e.getStatus().getDescription()).as("a failure says why").isNotBlank();
    return e.getStatus();
  }

  @Test
  void createMapsEveryFieldOntoNewAndAnswersTheVm() throws Exception {
    var ops = FakeOperations.builder().build();
    var stub = over(ops);
    var created = stub.createVm(CreateVmRequest.newBuilder().setName("app").setVcpus(2).setMemoryMib(2048).setAutoSuspendTimeoutSecs(0)
        .setImage("tools").build());
    assertThat(ops.lastNew).isEqualTo(new Operations.NewRequest(Optional.of("app"), Optional.of(2), Optional.of(2048), Optional.of(0),
        Optional.empty(), Optional.of("tools")));
    assertThat(created.getVmId()).isEqualTo("id-app");
    assertThat(created.getName()).isEqualTo("app");
    assertThat(created.getUrl()).isEqualTo("https://app.boxd.test");
    assertThat(created.getStatus()).isEqualTo("running");
    assertThat(created.getImage()).isEqualTo("debian-12");
    assertThat(created.getBootTimeMs()).isEqualTo(52);
    assertThat(created.getPublicIp()).isEmpty(); // null in the view: empty on the wire
    assertThat(created.getVm().getIp()).isEqualTo("10.0.0.2");

    var unnamed = stub.createVm(CreateVmRequest.getDefaultInstance());
    assertThat(unnamed.getName()).isEqualTo("gen-1");
    assertThat(ops.lastNew).isEqualTo(new Operations.NewRequest(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty()));

    stub.createVm(CreateVmRequest.newBuilder().setName("app").setIsolated(true).build());
    assertThat(ops.lastNew.isolated()).as("CreateVm.isolated (12) reaches the create").isTrue();
  }

  @Test
  void createRefusesWhatThisServerCannotDo() throws Exception {
    var ops = FakeOperations.builder().build();
    var stub = over(ops);
    assertThat(code(() -> stub.createVm(CreateVmRequest.newBuilder().setOrg("acme").build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stub.createVm(CreateVmRequest.newBuilder().setName("Not A Name").build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stub.createVm(CreateVmRequest.newBuilder().setFromSnapshot("s").setVcpus(2).build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(ops.calls).as("nothing was created").doesNotContain("create");
  }

  @Test
  void getAndListShowEveryField() throws Exception {
    var stub = over(FakeOperations.builder().vm("app", "running").vm("db", "standby").build());
    var vm = stub.getVm(GetVmRequest.newBuilder().setVmId("app").build());
    assertThat(vm.getVmId()).isEqualTo("id-app");
    assertThat(vm.getName()).isEqualTo("app");
    assertThat(vm.getStatus()).isEqualTo("running");
    assertThat(vm.getIp()).isEqualTo("10.0.0.2");
    assertThat(vm.getVcpus()).isEqualTo(2);
    assertThat(vm.getMemoryMib()).isEqualTo(1024);
    assertThat(vm.getDiskGb()).isEqualTo(100);
    assertThat(vm.getCreatedAt()).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(vm.getAutoSuspendSecs()).isEqualTo(30);
    assertThat(vm.getIsolated()).isFalse();
    assertThat(stub.listVms(ListVmsRequest.getDefaultInstance()).getVmsList()).extracting(v -> v.getName() + " " + v.getStatus())
        .containsExactly("app running", "db standby");
  }

  @Test
  void powerVerbsReachTheirOperations() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").build();
    var stub = over(ops);
    assertThat(stub.pauseVm(PauseVmRequest.newBuilder().setVmId("app").build()).getSuspendUs()).isEqualTo(712);
    assertThat(stub.resumeVm(ResumeVmRequest.newBuilder().setVmId("app").build()).getResumeUs()).isEqualTo(43);
    stub.stopVm(StopVmRequest.newBuilder().setVmId("app").build());
    stub.startVm(StartVmRequest.newBuilder().setVmId("app").build());
    stub.rebootVm(RebootVmRequest.newBuilder().setVmId("app").build());
    stub.destroyVm(DestroyVmRequest.newBuilder().setVmId("app").build());
    assertThat(ops.calls).containsExactly("pause app", "resume app", "stop app", "start app", "reboot app", "destroy app");
    Status gone = status(() -> stub.getVm(GetVmRequest.newBuilder().setVmId("app").build()));
    assertThat(gone.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(gone.getDescription()).isEqualTo("no VM named \"app\"");
  }

  @Test
  void exposeTwiceKeepsThePublicPortAndEchoesTheRequest() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").build();
    var stub = over(ops);
    var request = ExposePortRequest.newBuilder().setVm("app").setVmPort(5000).setProtocol("udp").build();
    var first = stub.exposePort(request);
    var again = stub.exposePort(request);
    assertThat(again.getPublicPort()).isEqualTo(first.getPublicPort()).isBetween(40000, 60000);
    assertThat(first.getVmId()).isEqualTo("id-app");
    assertThat(first.getVmName()).isEqualTo("app");
    assertThat(first.getVmPort()).isEqualTo(5000);
    assertThat(first.getProtocol()).isEqualTo("udp");
    assertThat(first.getDns()).isEqualTo("app.boxd.test");
    assertThat(stub.exposePort(ExposePortRequest.newBuilder().setVm("app").setVmPort(22).build()).getProtocol()).isEqualTo("tcp");
    assertThat(stub.listExposedPorts(ListExposedPortsRequest.newBuilder().setVm("app").build()).getPortsList()).hasSize(2);
    stub.unexposePort(UnexposePortRequest.newBuilder().setVm("app").setVmPort(5000).setProtocol("udp").build());
    assertThat(stub.listExposedPorts(ListExposedPortsRequest.getDefaultInstance()).getPortsList()).extracting(p -> p.getVmPort())
        .containsExactly(22);
    assertThat(code(() -> stub.exposePort(ExposePortRequest.newBuilder().setVm("app").setVmPort(70000).build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stub.exposePort(ExposePortRequest.newBuilder().setVm("app").setVmPort(80).setProtocol("sctp").build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void proxiesMapOntoRoutes() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").build();
    var stub = over(ops);
    var created = stub.createProxy(CreateProxyRequest.newBuilder().setVmName("app").setName("api").setPort(3000).build());
    assertThat(created.getDomain()).isEqualTo("api.app.boxd.test");
    var moved = stub.setProxyPort(SetProxyPortRequest.newBuilder().setVmName("app").setPort(0).build()).getProxy();
    assertThat(moved.getName()).isEqualTo("default");
    assertThat(moved.getPort()).as("port 0 is --port=auto").isEqualTo(3000);
    assertThat(stub.listProxies(ListProxiesRequest.newBuilder().setVmName("app").build()).getProxiesList())
        .extracting(p -> p.getName() + ":" + p.getPort()).containsExactly("api:3000", "default:3000");
    stub.deleteProxy(DeleteProxyRequest.newBuilder().setVmName("app").setName("api").build());
    assertThat(ops.calls).contains("setProxyPort app default auto", "removeProxy app api");
    assertThat(code(() -> stub.deleteProxy(DeleteProxyRequest.newBuilder().setVmName("app").setName("api").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> stub.createProxy(CreateProxyRequest.newBuilder().setVmName("app").setName("default").setPort(1).build())))
        .isEqualTo(Status.Code.ALREADY_EXISTS);
  }

  @Test
  void snapshotsForkSleepAndAutoSuspendMapOntoTheirOperations() throws Exception {
    var fake = new FakeOperations(FakeOperations.builder().vm("app", "running")) {
      @Override
      public SnapshotView saveSnapshot(String vm, String name) {
        calls.add("saveSnapshot " + vm + " " + name);
        return new SnapshotView("s-1", name, vm, "2026-01-02T00:00:00Z", 4096);
      }

      @Override
      public List<SnapshotView> snapshots() {
        return List.of(new SnapshotView("s-1", "snap", "app", "2026-01-02T00:00:00Z", 0));
      }

      @Override
      public void removeSnapshot(String name) {
        calls.add("removeSnapshot " + name);
      }

      @Override
      public VmView hibernate(String vm) {
        calls.add("hibernate " + vm);
        return view(vm, "hibernated");
      }

      @Override
      public VmView setAutoSuspend(String vm, int seconds) {
        calls.add("setAutoSuspend " + vm + " " + seconds);
        return existing(vm);
      }

      @Override
      public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
        calls.add("fork " + source + " " + name.orElse("-") + " " + autoSuspendSecs.map(String::valueOf).orElse("-"));
        return new ForkView(view(name.orElse(source + "-fork"), "running"), source);
      }
    };
    var stub = over(fake);
    var saved = stub.saveSnapshot(dev.boxd.api.v1.SaveSnapshotRequest.newBuilder().setVmId("app").setName("snap").build());
    assertThat(saved.getSizeBytes()).isEqualTo(4096);
    assertThat(saved.getVm()).isEqualTo("app");
    assertThat(stub.listSnapshots(dev.boxd.api.v1.ListSnapshotsRequest.getDefaultInstance()).getSnapshotsList())
        .extracting(dev.boxd.api.v1.Snapshot::getName).containsExactly("snap");
    stub.deleteSnapshot(dev.boxd.api.v1.DeleteSnapshotRequest.newBuilder().setName("snap").build());
    assertThat(stub.hibernateVm(dev.boxd.api.v1.HibernateVmRequest.newBuilder().setVmId("app").build()).getStatus()).isEqualTo("hibernated");
    stub.setAutoSuspend(dev.boxd.api.v1.SetAutoSuspendRequest.newBuilder().setVmId("app").setTimeoutSecs(0).build());
    var fork = stub.forkVm(ForkVmRequest.newBuilder().setSourceVmId("app").setAutoSuspendTimeoutSecs(60).build());
    assertThat(fork.getVmId()).isEqualTo("id-app-fork");
    assertThat(fork.getForkedFrom()).isEqualTo("app");
    assertThat(fake.calls).containsExactly("saveSnapshot app snap", "removeSnapshot snap", "hibernate app", "setAutoSuspend app 0",
        "fork app - 60");
    assertThat(code(() -> stub.setAutoSuspend(dev.boxd.api.v1.SetAutoSuspendRequest.newBuilder().setVmId("app").setTimeoutSecs(-1).build())))
        .as("a uint32 beyond 30 days").isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void whoamiIsTheCaller() throws Exception {
    var who = over(FakeOperations.builder().build()).whoami(WhoamiRequest.getDefaultInstance());
    assertThat(who.getUserId()).isEqualTo("u-1");
    assertThat(who.getName()).isEqualTo("alice");
    assertThat(who.getKeyFingerprintsList()).containsExactly("SHA256:abc");
  }

  @Test
  void failuresKeepTheirCodeAndBugsSayNothingInside() throws Exception {
    var fake = new FakeOperations(FakeOperations.builder().vm("app", "running")) {
      @Override
      public List<VmView> list() {
        throw new IllegalStateException("disk /secret/path is corrupt");
      }
    };
    var stub = over(fake);
    assertThat(code(() -> stub.forkVm(ForkVmRequest.newBuilder().setSourceVmId("app").build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(code(() -> stub.getVm(GetVmRequest.getDefaultInstance()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    Status bug = status(() -> stub.listVms(ListVmsRequest.getDefaultInstance()));
    assertThat(bug.getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(bug.getDescription()).doesNotContain("secret").contains("internal error");
  }

  @Test
  void callsWithoutAGoodTokenAreRefused() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").build();
    over(ops);
    var bare = BoxdApiGrpc.newBlockingStub(api.channel);
    Status none = status(() -> bare.whoami(WhoamiRequest.getDefaultInstance()));
    assertThat(none.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(none.getDescription()).contains("POST /api/v1/auth/token");

    Status expired = status(() -> bare.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(InProcessApi.bearer("old")))
        .whoami(WhoamiRequest.getDefaultInstance()));
    assertThat(expired.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(expired.getDescription()).isEqualTo("the token has expired: get a new one");

    Metadata basic = new Metadata();
    basic.put(AuthInterceptor.AUTHORIZATION, "Basic dXNlcjpwdw==");
    Status malformed = status(() -> bare.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(basic))
        .getVm(GetVmRequest.newBuilder().setVmId("app").build()));
    assertThat(malformed.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(malformed.getDescription()).contains("Bearer <token>");
    assertThat(ops.calls).as("no operation ran").isEmpty();
  }

  @Test
  void apiKeysAreMadeListedAndRevokedAsTheVerbsDo() throws Exception {
    var ops = FakeOperations.builder().build();
    var stub = over(ops);
    var made = stub.createApiKey(dev.boxd.api.v1.CreateApiKeyRequest.newBuilder().setName("ci").setExpiresInSecs(3600).build());
    assertThat(made.getSecret()).startsWith("bxd_").hasSize(47);
    assertThat(made.getKey().getName()).isEqualTo("ci");
    assertThat(made.getKey().getExpiresAt()).isEqualTo("2026-01-01T01:00:00Z");
    assertThat(ops.calls).contains("createApiKey ci 3600");
    var listed = stub.listApiKeys(dev.boxd.api.v1.ListApiKeysRequest.getDefaultInstance());
    assertThat(listed.getKeysList()).extracting(dev.boxd.api.v1.ApiKey::getId).containsExactly(made.getKey().getId());
    assertThat(listed.toString()).doesNotContain(made.getSecret());
    var revoked = stub.revokeApiKey(dev.boxd.api.v1.RevokeApiKeyRequest.newBuilder().setKey("ci").build());
    assertThat(revoked.getRevokedAt()).isNotEmpty();
    assertThat(code(() -> stub.revokeApiKey(dev.boxd.api.v1.RevokeApiKeyRequest.getDefaultInstance()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(code(() -> stub.revokeApiKey(dev.boxd.api.v1.RevokeApiKeyRequest.newBuilder().setKey("nope").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> stub.createApiKey(dev.boxd.api.v1.CreateApiKeyRequest.newBuilder().setName("Bad Name").build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }
}
