package dev.boxd.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.boxd.edge.route.EdgeName;
import dev.boxd.edge.route.Route;
import dev.boxd.edge.route.RouteTable;
import dev.boxd.edge.route.VmConnector;
import dev.boxd.edge.route.VmUnavailable;
import dev.boxd.edge.tls.LocalCa;
import dev.boxd.edge.tls.LocalCaSource;
import dev.boxd.edge.tls.TlsContexts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxy against a backend on this host (a VM's port stands in for it; the server tests use
 * real VMs), driven by curl: HTTP/1.1 and HTTP/2, headers it adds, bodies both ways, its own
 * pages, limits and the redirect.
 */
class EdgeProxyTest {
  static HttpServer backend;
  static EdgeServer edge;
  static Path caFile;
  static int closedPort;
  static final List<String> woken = new java.util.concurrent.CopyOnWriteArrayList<>();
  static final java.util.concurrent.CountDownLatch slowStarted = new java.util.concurrent.CountDownLatch(1);
  static final java.util.concurrent.CountDownLatch slowMayEnd = new java.util.concurrent.CountDownLatch(1);
  static RouteTable table;
  static VmConnector vms;
  static TlsContexts tls;

  @BeforeAll
  static void start() throws Exception {
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    backend.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      StringBuilder text = new StringBuilder("hello from the backend\n");
      text.append("method=").append(exchange.getRequestMethod()).append(" uri=").append(exchange.getRequestURI()).append('\n');
      for (String name : List.of("Host", "X-forwarded-for", "X-forwarded-proto", "X-forwarded-host", "Connection")) {
        text.append(name.toLowerCase()).append('=').append(exchange.getRequestHeaders().getFirst(name)).append('\n');
      }
      text.append("body=").append(body.length).append('\n');
      byte[] out = text.toString().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, out.length);
      exchange.getResponseBody().write(out);
      exchange.close();
    });
    backend.createContext("/slow", exchange -> {
      slowStarted.countDown();
      try {
        slowMayEnd.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      byte[] out = "slow done\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, out.length);
      exchange.getResponseBody().write(out);
      exchange.close();
    });
    backend.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(8));
    backend.start();
    try (ServerSocket unused = new ServerSocket(0)) {
      closedPort = unused.getLocalPort();
    }
    int port = backend.getAddress().getPort();
    Map<String, Route> routes = Map.of("app", new Route("vm-app", "app", port), "quiet", new Route("vm-quiet", "quiet", closedPort),
        "halted", new Route("vm-halted", "halted", port), "sleepy", new Route("vm-sleepy", "sleepy", port));
    table = name -> name.sub().isPresent() ? Optional.empty() : Optional.ofNullable(routes.get(name.vm()));
    vms = new VmConnector() {
      @Override
      public boolean isAwake(String vmId) {
        return !vmId.equals("vm-sleepy");
      }

      @Override
      public SocketChannel connect(Route route, Duration timeout) throws IOException {
        if (route.vmId().equals("vm-halted")) {
          throw new VmUnavailable(VmUnavailable.Why.STOPPED, "VM halted is stopped; its owner can start it with: start halted");
        }
        if (route.vmId().equals("vm-sleepy")) {
          woken.add(route.vmId());
        }
        return SocketChannel.open(new InetSocketAddress("127.0.0.1", route.port()));
      }
    };
    LocalCa ca = LocalCa.create("localhost", Clock.systemUTC());
    caFile = Files.createTempFile("edge-ca-", ".pem");
    Files.writeString(caFile, ca.certificatePem());
    tls = new TlsContexts(new LocalCaSource(ca, n -> EdgeName.parse(n, "localhost").isPresent() || EdgeName.isZone(n, "localhost"),
        Clock.systemUTC()));
    EdgeConfig config = EdgeConfig.defaults("localhost", new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0))
        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(3));
    // The zone's own page echoes what it was given, as the token exchange reads a JSON body.
    ZonePages pages = request -> request.path().equals("/echo")
        ? ZonePages.Response.json(200, "{\"method\":\"" + request.method() + "\",\"query\":\"" + request.query() + "\",\"body\":\""
            + new String(request.body(), StandardCharsets.UTF_8) + "\",\"client\":\"" + request.client() + "\",\"type\":\""
            + request.headers().get("content-type") + "\"}")
        : ZonePages.NONE.handle(request);
    edge = EdgeServer.start(config, table, vms, tls, pages);
  }

  @AfterAll
  static void stop() throws IOException {
    if (edge != null) {
      edge.close();
    }
    if (backend != null) {
      backend.stop(0);
    }
    Files.deleteIfExists(caFile);
  }

  record Curl(int exit, String out, String err) {
  }

  static Curl curl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert", caFile.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Curl(process.waitFor(), out, err);
  }

  static String url(String name, String path) {
    return "https://" + name + ".localhost:" + edge.httpsPort() + path;
  }

  static String resolve(String name) {
    return name + ".localhost:" + edge.httpsPort() + ":127.0.0.1";
  }

  @Test
  void http1AndHttp2ReachTheBackendWithForwardedHeaders() throws Exception {
    for (String version : List.of("--http1.1", "--http2")) {
      Curl run = curl(version, "-i", "--resolve", resolve("app"), url("app", "/some/path?q=1"));
      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.out()).contains("hello from the backend", "uri=/some/path?q=1", "x-forwarded-proto=https",
          "x-forwarded-for=127.0.0.1", "host=app.localhost", "x-forwarded-host=app.localhost")
          .containsIgnoringCase("strict-transport-security: max-age=");
      assertThat(run.out()).startsWith(version.equals("--http2") ? "HTTP/2 200" : "HTTP/1.1 200");
    }
  }

  @Test
  void requestBodiesGoThrough() throws Exception {
    Path big = Files.createTempFile("edge-body-", ".bin");
    try {
      Files.write(big, new byte[3 * 1024 * 1024]);
      for (String version : List.of("--http1.1", "--http2")) {
        Curl run = curl(version, "--resolve", resolve("app"), "--data-binary", "@" + big, url("app", "/upload"));
        assertThat(run.out()).as(run.err()).contains("method=POST", "body=" + 3 * 1024 * 1024);
      }
    } finally {
      Files.delete(big);
    }
  }

  @Test
  void keptAliveConnectionsServeManyRequests() throws Exception {
    Curl run = curl("--http1.1", "--resolve", resolve("app"), url("app", "/1"), url("app", "/2"), url("app", "/3"));
    assertThat(run.out()).contains("uri=/1", "uri=/2", "uri=/3");
    assertThat(run.err()).doesNotContain("Connection died");
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    String two = raw("GET /first HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /second HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n");
    assertThat(two).containsSubsequence("uri=/first", "uri=/second");
  }

  @Test
  void aSleepingVmIsWokenFirst() throws Exception {
    Curl run = curl("--resolve", resolve("sleepy"), url("sleepy", "/"));
    assertThat(run.out()).contains("hello from the backend");
    assertThat(woken).contains("vm-sleepy");
  }

  @Test
  void pagesOfTheEdge() throws Exception {
    Curl unknown = curl("-i", "--resolve", resolve("nobody"), url("nobody", "/"));
    assertThat(unknown.out()).startsWith("HTTP/2 404").contains("there is no VM named nobody");
    Curl quiet = curl("-i", "--resolve", resolve("quiet"), url("quiet", "/"));
    assertThat(quiet.out()).startsWith("HTTP/2 502").contains("nothing answers on port " + closedPort + " of VM quiet");
    Curl halted = curl("-i", "--http1.1", "--resolve", resolve("halted"), url("halted", "/"));
    assertThat(halted.out()).startsWith("HTTP/1.1 503").contains("VM halted is stopped");
    Curl proxy = curl("-i", "--resolve", "api.app.localhost:" + edge.httpsPort() + ":127.0.0.1", url("api.app", "/"));
    assertThat(proxy.out()).startsWith("HTTP/2 404").contains("VM app has no proxy named api");
  }

  @Test
  void aVmHoldsAtMostItsShareOfConnections() throws Exception {
    EdgeConfig one = new EdgeConfig("localhost", new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0),
        Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(5), 16 * 1024, 1, Duration.ofSeconds(60));
    try (EdgeServer small = EdgeServer.start(one, table, vms, tls)) {
      String base = "https://app.localhost:" + small.httpsPort();
      String resolve = "app.localhost:" + small.httpsPort() + ":127.0.0.1";
      Process slow = new ProcessBuilder("curl", "-sS", "--max-time", "30", "--cacert", caFile.toString(), "--resolve", resolve,
          base + "/slow").start();
      try {
        assertThat(slowStarted.await(20, java.util.concurrent.TimeUnit.SECONDS)).as("the slow request reached the backend").isTrue();
        Curl second = curl("-i", "--resolve", resolve, base + "/");
        assertThat(second.out()).startsWith("HTTP/2 503").contains("VM app already has 1 connections open");
      } finally {
        slowMayEnd.countDown();
      }
      assertThat(new String(slow.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("slow done");
      slow.waitFor();
    }
  }

  @Test
  void aVmThatNeverAnswersGets504AndAStalledBodyFreesTheVm() throws Exception {
    EdgeConfig impatient = EdgeConfig.defaults("localhost", new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0))
        .withStallTimeout(Duration.ofSeconds(1));
    try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        EdgeServer small = EdgeServer.start(impatient, name -> Optional.of(new Route("vm-silent", "silent", silent.getLocalPort())), vms, tls)) {
      String resolve = "silent.localhost:" + small.httpsPort() + ":127.0.0.1";
      Curl mute = curl("-i", "--http1.1", "--resolve", resolve, "https://silent.localhost:" + small.httpsPort() + "/");
      assertThat(mute.out()).startsWith("HTTP/1.1 504").contains("VM silent did not answer on port " + silent.getLocalPort() + " within 1 s");
      // A client that promises a body and stops sending it holds the VM's connection no longer than that either.
      String stalled = rawTo(small.httpsPort(), "silent.localhost",
          "POST / HTTP/1.1\r\nHost: silent.localhost\r\nContent-Length: 100\r\n\r\nonly a part");
      assertThat(stalled).startsWith("HTTP/1.1 504").contains("nor did the request's body arrive");
    }
  }

  @Test
  void theZoneItselfIsServedByTheZonePagesOverBothProtocols() throws Exception {
    String zone = "localhost:" + edge.httpsPort();
    for (String version : List.of("--http1.1", "--http2")) {
      Curl run = curl(version, "-i", "-H", "content-type: application/json", "--data-binary", "{x}", "https://" + zone + "/echo?a=1",
          "https://" + zone + "/echo");
      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.out()).as("two requests on one connection")
          .contains("{\"method\":\"POST\",\"query\":\"a=1\",\"body\":\"{x}\",\"client\":\"127.0.0.1\",\"type\":\"application/json\"}")
          .contains("\"query\":\"\"").containsIgnoringCase("strict-transport-security");
    }
    Curl missing = curl("-i", "--http1.1", "https://" + zone + "/nothing");
    assertThat(missing.out()).startsWith("HTTP/1.1 404").contains("nothing is served at the zone itself");
    Path big = Files.createTempFile("zone-body-", ".bin");
    try {
      Files.write(big, new byte[ZonePages.MAX_BODY_BYTES + 1]);
      Curl tooBig = curl("-i", "--http1.1", "--data-binary", "@" + big, "https://" + zone + "/echo");
      assertThat(tooBig.out()).startsWith("HTTP/1.1 413").contains("at most 64 KiB");
    } finally {
      Files.delete(big);
    }
    Curl plain = curl("-i", "http://localhost:" + edge.httpPort() + "/register?code=x");
    assertThat(plain.out()).startsWith("HTTP/1.1 308").contains("location: https://localhost:" + edge.httpsPort() + "/register?code=x");
  }

  @Test
  void anotherHostOnTheConnectionIsMisdirected() throws Exception {
    Curl run = curl("-i", "--http1.1", "--resolve", resolve("app"), "-H", "Host: quiet.localhost", url("app", "/"));
    assertThat(run.out()).startsWith("HTTP/1.1 421");
  }

  @Test
  void anUnknownServerNameFailsTheHandshake() throws Exception {
    Curl run = curl("--resolve", "example.com:" + edge.httpsPort() + ":127.0.0.1", "https://example.com:" + edge.httpsPort() + "/");
    assertThat(run.exit()).isNotZero();
    assertThat(run.err()).containsIgnoringCase("unrecognized name");
  }

  @Test
  void plainHttpRedirectsToHttps() throws Exception {
    Curl run = curl("-i", "--resolve", "app.localhost:" + edge.httpPort() + ":127.0.0.1", "http://app.localhost:" + edge.httpPort() + "/x?y=1");
    assertThat(run.out()).startsWith("HTTP/1.1 308").contains("location: https://app.localhost:" + edge.httpsPort() + "/x?y=1");
  }

  @Test
  void malformedAndOversizedRequestsAreRefused() throws Exception {
    assertThat(raw("GARBAGE\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertThat(raw("GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n")).startsWith("HTTP/1.1 431");
    assertThat(raw("GET / HTTP/1.1\r\n")).as("a head that never ends").startsWith("HTTP/1.1 408");
  }

  /** Sends {@code request} over TLS (SNI app.localhost) and returns what comes back until the edge closes. */
  private static String raw(String request) throws Exception {
    return rawTo(edge.httpsPort(), "app.localhost", request);
  }

  /** Sends {@code request} over TLS to {@code port} (SNI {@code serverName}) and returns what comes back until the edge closes. */
  private static String rawTo(int port, String serverName, String request) throws Exception {
    var trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    var store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null);
    try (InputStream pem = Files.newInputStream(caFile)) {
      store.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      var params = socket.getSSLParameters();
      params.setServerNames(List.of(new javax.net.ssl.SNIHostName(serverName)));
      socket.setSSLParameters(params);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
