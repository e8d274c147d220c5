package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.api.v1.WhoamiRequest;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client over a real gRPC transport (in-process) against {@link FakeApi}: headers, retries, streams. */
class BoxdInProcessTest {
  final FakeApi api = new FakeApi();
  final ManualClock clock = new ManualClock(Instant.now());
  final List<Boxd> clients = new ArrayList<>();
  Server server;
  String name;

  @BeforeEach
  void start() throws Exception {
    name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(api, api.headers())).build().start();
  }

  @AfterEach
  void stop() {
    clients.forEach(Boxd::close);
    server.shutdownNow();
  }

  Boxd client(Settings.Credential credential) {
    Boxd boxd = new Boxd(InProcessChannelBuilder.forName(name).build(), "https://fake:9443", credential, clock);
    clients.add(boxd);
    return boxd;
  }

  @Test
  void anApiKeyIsExchangedWithoutTokenAndTheTokenRidesOnEveryCall() {
    Boxd boxd = client(new Settings.Credential.ApiKey(FakeApi.KEY));
    assertThat(boxd.whoami().name()).isEqualTo("jwt-1");
    assertThat(boxd.api().whoami(WhoamiRequest.getDefaultInstance()).getName()).as("the raw stub").isEqualTo("jwt-1");
    assertThat(api.authorizations).containsExactly("ExchangeApiKey null", "Whoami Bearer jwt-1", "Whoami Bearer jwt-1");
  }

  @Test
  void anExpiredTokenIsRenewedAndTheCallRetriedOnce() {
    Boxd boxd = client(new Settings.Credential.ApiKey(FakeApi.KEY));
    boxd.whoami();
    api.expiredTokens.add("jwt-1");
    assertThat(boxd.whoami().name()).isEqualTo("jwt-2");
    assertThat(api.exchanges).hasValue(2);
    assertThat(api.authorizations).endsWith("Whoami Bearer jwt-1", "ExchangeApiKey null", "Whoami Bearer jwt-2");
  }

  @Test
  void theTokenIsRenewedAMinuteBeforeItExpires() {
    Boxd boxd = client(new Settings.Credential.ApiKey(FakeApi.KEY));
    boxd.whoami();
    clock.advance(Duration.ofMinutes(58));
    assertThat(boxd.whoami().name()).isEqualTo("jwt-1");
    clock.advance(Duration.ofMinutes(1));
    assertThat(boxd.whoami().name()).isEqualTo("jwt-2");
  }

  @Test
  void anExpiredTokenRefusedTwiceFailsAndAGivenTokenIsNotRetried() {
    api.expiredTokens.add("given");
    Boxd boxd = client(new Settings.Credential.Token("given"));
    assertThatThrownBy(boxd::whoami).isInstanceOf(AuthenticationError.class).hasMessageContaining("token expired");
    assertThat(api.authorizations).containsExactly("Whoami Bearer given");
  }

  @Test
  void aWrongApiKeyFailsTheCallWithTheServersReason() {
    Boxd boxd = client(new Settings.Credential.ApiKey("bxd_" + "x".repeat(43)));
    assertThatThrownBy(boxd::whoami).isInstanceOf(AuthenticationError.class).hasMessageContaining("unknown API key");
  }

  @Test
  void getMapsTheVmAndNotFound() {
    Boxd boxd = client(new Settings.Credential.Token("t"));
    Machine vm = boxd.machines().get("app");
    assertThat(vm.id()).isEqualTo("vm_1");
    assertThat(vm.isolated()).isTrue();
    assertThat(vm.createdAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    assertThatThrownBy(() -> boxd.machines().get("gone")).isInstanceOf(NotFoundError.class).hasMessage("VM 'gone' not found");
  }

  @Test
  void waitUntilReadyLooksUntilRunningAndGivesUpOnAStoppedVm() {
    Boxd boxd = client(new Settings.Credential.Token("t"));
    assertThat(boxd.machines().waitUntilReady("booting", Duration.ofSeconds(30)).status()).isEqualTo("running");
    assertThat(api.bootLooks).hasValue(3);
    assertThatThrownBy(() -> boxd.machines().waitUntilReady("stopped", Duration.ofSeconds(30))).isInstanceOf(ConflictError.class)
        .hasMessageContaining("stopped");
    assertThatThrownBy(() -> boxd.machines().waitUntilReady("gone", Duration.ofSeconds(30))).isInstanceOf(NotFoundError.class);
  }

  @Test
  void execSendsStdinAndKeepsStdoutStderrAndTheExitCodeApart() {
    Boxd boxd = client(new Settings.Credential.ApiKey(FakeApi.KEY));
    ExecResult r = boxd.machines().exec("app", ExecOptions.builder().command("exit 3").env("A", "1").timeout(Duration.ofMillis(1500))
        .stdin("hello".getBytes(StandardCharsets.UTF_8)).build());
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.success()).isFalse();
    assertThat(r.stdout()).isEqualTo("hello");
    assertThat(r.stderr()).isEqualTo("env={A=1} timeout=2\nbye");
    assertThat(boxd.machines().exec("app", "exit 0").success()).isTrue();
  }

  @Test
  void execRetriesAfterAnExpiredToken() {
    Boxd boxd = client(new Settings.Credential.ApiKey(FakeApi.KEY));
    boxd.whoami();
    api.expiredTokens.add("jwt-1");
    assertThat(boxd.machines().exec("app", "exit 5").exitCode()).isEqualTo(5);
  }

  @Test
  void aStreamedExecYieldsOutputAsStdinGoesIn() throws Exception {
    Boxd boxd = client(new Settings.Credential.Token("t"));
    try (ExecStream run = boxd.machines().execStream("app", ExecOptions.of("exit 7"))) {
      assertThat(run.next().isStderr()).isTrue();
      run.stdin().write("one".getBytes(StandardCharsets.UTF_8));
      OutputChunk echoed = run.next();
      assertThat(echoed.isStdout()).isTrue();
      assertThat(echoed.text()).isEqualTo("one");
      run.writeStdin("two".getBytes(StandardCharsets.UTF_8));
      assertThat(run.next().text()).isEqualTo("two");
      run.closeStdin();
      assertThat(run.next().text()).isEqualTo("bye");
      OutputChunk last = run.next();
      assertThat(last.isExit()).isTrue();
      assertThat(last.exitCode()).isEqualTo(7);
      assertThat(run.hasNext()).isFalse();
      assertThat(run.awaitExit()).isEqualTo(7);
    }
  }

  @Test
  void aStreamedExecWithAHandler() {
    Boxd boxd = client(new Settings.Credential.Token("t"));
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    ExecSession run = boxd.machines().execStream("app", ExecOptions.of("exit 0"), new ExecHandler() {
      @Override
      public void onStdout(byte[] data) {
        out.writeBytes(data);
      }

      @Override
      public void onStderr(byte[] data) {
        err.writeBytes(data);
      }
    });
    run.writeStdin(new byte[3 * 1024 * 1024 + 5]);
    run.closeStdin();
    assertThat(run.awaitExit(Duration.ofSeconds(30))).isZero();
    assertThat(out.size()).isEqualTo(3 * 1024 * 1024 + 5);
    assertThat(err.toString(StandardCharsets.UTF_8)).endsWith("bye");
  }

  @Test
  void aStreamedExecOfAMissingVmFailsWithTheMappedError() {
    api.expiredTokens.add("old");
    Boxd boxd = client(new Settings.Credential.Token("old"));
    ExecStream run = boxd.machines().execStream("app", ExecOptions.of("exit 0"));
    assertThatThrownBy(run::next).isInstanceOf(AuthenticationError.class);
    assertThatThrownBy(run::awaitExit).isInstanceOf(AuthenticationError.class);
  }

  @Test
  void fromEnvironmentNeedsSomethingToTalkTo() {
    assertThatThrownBy(() -> Boxd.fromEnvironment(Map.of(), new Settings.Host(java.nio.file.Path.of("/nonexistent/agent"),
        java.nio.file.Path.of("/nonexistent/route")))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("BOXD_API_URL");
  }
}
