package dev.boxd.bench;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.CreateVmRequest;
import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.api.v1.GetVmRequest;
import dev.boxd.api.v1.ListVmsRequest;
import dev.boxd.api.v1.StopVmRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;

/**
 * The API's reads beside the same reads over the SSH front door and beside etcd's, on this
 * machine: {@code GetVm} and {@code ListVms} with {@value #VMS} VMs in the state, 16 clients at
 * once, each on a connection (gRPC channel, SSH session, HTTP client) kept open; then {@code exec
 * true} one at a time over gRPC and over SSH. Run by {@code bench/api.sh}, which starts the server
 * and etcd.
 *
 * <p>Args: SSH_PORT KEY HTTPS_PORT API_PORT CA_PEM ETCD_URL SECONDS.
 */
public final class ApiBench {
  static final int VMS = 100;
  private static final int CLIENTS = 16;
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private ApiBench() {}

  public static void main(String[] args) throws Exception {
    int sshPort = Integer.parseInt(args[0]);
    Path key = Path.of(args[1]);
    int httpsPort = Integer.parseInt(args[2]);
    int apiPort = Integer.parseInt(args[3]);
    Path ca = Path.of(args[4]);
    URI etcd = URI.create(args[5]);
    Duration each = Duration.ofSeconds(Long.parseLong(args[6]));

    SshClient ssh = SshClient.setUpDefaultClient();
    ssh.setKeyIdentityProvider(new FileKeyPairProvider(key));
    ssh.setServerKeyVerifier((session, address, serverKey) -> true); // loopback, a server this run started
    ssh.start();
    String apiKey = field(sshRun(session(ssh, sshPort), "api-key create bench --json"), "api_key");
    String token = exchange(ca, httpsPort, apiKey);
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);

    List<ManagedChannel> channels = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    try {
      for (int i = 0; i < CLIENTS; i++) {
        channels.add(NettyChannelBuilder.forAddress("localhost", apiPort).sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).build())
            .intercept(MetadataUtils.newAttachHeadersInterceptor(headers)).build());
      }
      BoxdApiGrpc.BoxdApiBlockingStub api = BoxdApiGrpc.newBlockingStub(channels.get(0));
      long made = System.nanoTime();
      // Stopped, VMs are in the state and cost the host nothing (one stays running for exec);
      // made 20 at a time, as the host admits only so many running at once.
      for (int first = 0; first < VMS; first += 20) {
        List<String> batch = new ArrayList<>();
        for (int i = first; i < Math.min(VMS, first + 20); i++) {
          batch.add(api.createVm(CreateVmRequest.newBuilder().setName("bench-" + i).build()).getVmId());
        }
        ids.addAll(batch);
        eachAtOnce(first == 0 ? batch.subList(1, batch.size()) : batch, id -> api.stopVm(StopVmRequest.newBuilder().setVmId(id).build()));
      }
      System.out.printf("made %d VMs through the API in %.0f s (one left running for exec)%n", VMS, (System.nanoTime() - made) / 1e9);

      List<ClientSession> sessions = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        sessions.add(session(ssh, sshPort));
      }
      HttpClient[] etcdClients = new HttpClient[CLIENTS];
      for (int i = 0; i < CLIENTS; i++) {
        etcdClients[i] = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      }
      for (int i = 0; i < VMS; i++) {
        etcdPut(etcdClients[0], etcd, "vms/" + ids.get(i), "{\"vm_id\":\"" + ids.get(i) + "\",\"name\":\"bench-" + i + "\",\"status\":\"stopped\"}");
      }

      System.out.printf("%n%-34s %10s %10s %10s%n", "16 clients, " + each.toSeconds() + " s each", "calls/s", "p50 us", "p99 us");
      Load grpcGet = Load.run(each, c -> BoxdApiGrpc.newBlockingStub(channels.get(c))
          .getVm(GetVmRequest.newBuilder().setVmId(ids.get(ThreadLocalRandom.current().nextInt(VMS))).build()));
      Load sshGet = Load.run(each, c -> sshRun(sessions.get(c), "info bench-" + ThreadLocalRandom.current().nextInt(VMS) + " --json"));
      Load etcdGet = Load.run(each, c -> etcdRange(etcdClients[c], etcd, "vms/" + ids.get(ThreadLocalRandom.current().nextInt(VMS)), false));
      Load grpcList = Load.run(each, c -> BoxdApiGrpc.newBlockingStub(channels.get(c)).listVms(ListVmsRequest.getDefaultInstance()));
      Load sshList = Load.run(each, c -> sshRun(sessions.get(c), "list --json"));
      Load etcdList = Load.run(each, c -> etcdRange(etcdClients[c], etcd, "vms/", true));
      grpcGet.print("GetVm over gRPC");
      sshGet.print("info --json over SSH");
      etcdGet.print("etcd get (one key)");
      grpcList.print("ListVms over gRPC (100 VMs)");
      sshList.print("list --json over SSH");
      etcdList.print("etcd get --prefix (100 keys)");
      System.out.printf("ratios: GetVm/etcd p50 %.2fx, calls/s %.2fx; ListVms/etcd p50 %.2fx, calls/s %.2fx; GetVm/SSH p50 %.2fx%n",
          ratio(grpcGet.stats.p50(), etcdGet.stats.p50()), grpcGet.rate() / etcdGet.rate(),
          ratio(grpcList.stats.p50(), etcdList.stats.p50()), grpcList.rate() / etcdList.rate(),
          ratio(grpcGet.stats.p50(), sshGet.stats.p50()));

      Stats grpcExec = new Stats();
      Stats sshExec = new Stats();
      String vm = ids.get(0);
      for (int i = 0; i < 40; i++) {
        long t0 = System.nanoTime();
        int code = grpcExec(channels.get(0), vm, "true");
        grpcExec.add((System.nanoTime() - t0) / 1000);
        t0 = System.nanoTime();
        sshRun(sessions.get(0), "exec bench-0 -- true");
        sshExec.add((System.nanoTime() - t0) / 1000);
        if (code != 0) {
          throw new IllegalStateException("exec true over gRPC exited " + code);
        }
      }
      System.out.printf("%nexec true, one at a time: gRPC p50 %d us, SSH p50 %d us (%.2fx)%n", grpcExec.p50(), sshExec.p50(),
          ratio(grpcExec.p50(), sshExec.p50()));
      sessions.forEach(s -> s.close(true));
    } finally {
      BoxdApiGrpc.BoxdApiBlockingStub api = BoxdApiGrpc.newBlockingStub(channels.get(0));
      eachAtOnce(ids, id -> {
        try {
          api.destroyVm(DestroyVmRequest.newBuilder().setVmId(id).build());
        } catch (RuntimeException e) {
          System.err.println("destroy " + id + ": " + e.getMessage());
        }
      });
      channels.forEach(ManagedChannel::shutdownNow);
      ssh.stop();
    }
  }

  /** {@code each} for every id, eight at a time. */
  private static void eachAtOnce(List<String> ids, java.util.function.Consumer<String> each) throws InterruptedException {
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
      ids.forEach(id -> pool.execute(() -> each.accept(id)));
    }
  }

  interface Call {
    void run(int client) throws Exception;
  }

  /** CLIENTS threads calling as fast as answers come, for a while. */
  record Load(Stats stats, double seconds) {
    static Load run(Duration length, Call call) throws InterruptedException {
      List<Stats> perClient = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      AtomicReference<Exception> failure = new AtomicReference<>();
      long start = System.nanoTime();
      long end = start + length.toNanos();
      for (int c = 0; c < CLIENTS; c++) {
        Stats stats = new Stats();
        perClient.add(stats);
        int client = c;
        threads.add(Thread.ofPlatform().start(() -> {
          try {
            while (System.nanoTime() < end) {
              long t0 = System.nanoTime();
              call.run(client);
              stats.add((System.nanoTime() - t0) / 1000);
            }
          } catch (Exception e) {
            failure.compareAndSet(null, e);
          }
        }));
      }
      for (Thread thread : threads) {
        thread.join();
      }
      if (failure.get() != null) {
        throw new IllegalStateException("a call failed", failure.get());
      }
      Stats all = new Stats();
      perClient.forEach(s -> s.forEach(all::add));
      return new Load(all, (System.nanoTime() - start) / 1e9);
    }

    double rate() {
      return stats.count() / seconds;
    }

    void print(String what) {
      System.out.printf("%-34s %10.0f %10d %10d%n", what, rate(), stats.p50(), stats.p99());
    }
  }

  private static double ratio(long a, long b) {
    return b == 0 ? Double.NaN : (double) a / b;
  }

  private static int grpcExec(ManagedChannel channel, String vm, String command) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    int[] exit = {0};
    AtomicReference<Throwable> failed = new AtomicReference<>();
    StreamObserver<ExecChunk> requests = BoxdApiGrpc.newStub(channel).exec(new StreamObserver<>() {
      @Override
      public void onNext(ExecChunk chunk) {
        if (chunk.getExitCode() != 0) {
          exit[0] = chunk.getExitCode();
        }
      }

      @Override
      public void onError(Throwable t) {
        failed.set(t);
        done.countDown();
      }

      @Override
      public void onCompleted() {
        done.countDown();
      }
    });
    requests.onNext(ExecChunk.newBuilder().setVmId(vm).setCommand(command).build());
    requests.onCompleted();
    if (!done.await(60, TimeUnit.SECONDS) || failed.get() != null) {
      throw new IllegalStateException("exec over gRPC did not finish", failed.get());
    }
    return exit[0];
  }

  private static ClientSession session(SshClient ssh, int port) throws IOException {
    ClientSession session = ssh.connect("bench", "127.0.0.1", port).verify(Duration.ofSeconds(10)).getSession();
    session.auth().verify(Duration.ofSeconds(10));
    return session;
  }

  private static String sshRun(ClientSession session, String command) throws IOException {
    try (ChannelExec channel = session.createExecChannel(command)) {
      var out = new ByteArrayOutputStream();
      var err = new ByteArrayOutputStream();
      channel.setOut(out);
      channel.setErr(err);
      channel.open().verify(Duration.ofSeconds(10));
      channel.waitFor(java.util.EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(60));
      Integer status = channel.getExitStatus();
      if (status == null || status != 0) {
        throw new IOException("`" + command + "` over SSH failed (" + status + "): " + err.toString(StandardCharsets.UTF_8));
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }

  private static String exchange(Path ca, int httpsPort, String apiKey) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null);
    try (var pem = Files.newInputStream(ca)) {
      store.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, trust.getTrustManagers(), null);
    HttpClient http = HttpClient.newBuilder().sslContext(tls).build();
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("https://localhost:" + httpsPort + "/api/v1/auth/token"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"api_key\":\"" + apiKey + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("the token exchange answered " + response.statusCode() + ": " + response.body());
    }
    return field(response.body(), "token");
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
    if (!m.find()) {
      throw new IllegalStateException("no " + name + " in " + json);
    }
    return m.group(1);
  }

  private static void etcdPut(HttpClient http, URI etcd, String key, String value) throws IOException, InterruptedException {
    Base64.Encoder b64 = Base64.getEncoder();
    send(http, etcd.resolve("/v3/kv/put"), "{\"key\":\"" + b64.encodeToString(key.getBytes(StandardCharsets.UTF_8)) + "\",\"value\":\""
        + b64.encodeToString(value.getBytes(StandardCharsets.UTF_8)) + "\"}");
  }

  private static void etcdRange(HttpClient http, URI etcd, String key, boolean prefix) throws IOException, InterruptedException {
    Base64.Encoder b64 = Base64.getEncoder();
    byte[] start = key.getBytes(StandardCharsets.UTF_8);
    String body = "{\"key\":\"" + b64.encodeToString(start) + "\"";
    if (prefix) {
      byte[] end = start.clone();
      end[end.length - 1]++;
      body += ",\"range_end\":\"" + b64.encodeToString(end) + "\"";
    }
    send(http, etcd.resolve("/v3/kv/range"), body + "}");
  }

  private static void send(HttpClient http, URI uri, String body) throws IOException, InterruptedException {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("etcd answered " + response.statusCode() + ": " + response.body());
    }
  }
}
