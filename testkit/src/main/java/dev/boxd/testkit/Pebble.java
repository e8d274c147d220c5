package dev.boxd.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
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
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Debian's {@code pebble}, the ACME test CA, as a test's process: it really validates DNS-01
 * challenges, asking the DNS server the test names. Its own HTTPS certificate is made here with
 * {@code openssl} ({@link #tlsCertificate()}, for the client to trust); the root that signs what it
 * issues comes from its management port ({@link #issuingRoot()}).
 */
public final class Pebble implements AutoCloseable {
  private final Path dir;
  private final Process process;
  public final int acmePort;
  public final int managementPort;

  private Pebble(Path dir, Process process, int acmePort, int managementPort) {
    this.dir = dir;
    this.process = process;
    this.acmePort = acmePort;
    this.managementPort = managementPort;
  }

  /** Starts pebble, validating challenges through the DNS server at 127.0.0.1:{@code dnsPort}; returns once it listens. */
  public static Pebble start(int dnsPort) throws IOException, InterruptedException {
    for (String tool : List.of("/usr/bin/pebble", "/usr/bin/openssl")) {
      if (!Files.isExecutable(Path.of(tool))) {
        throw new IllegalStateException(tool + " is missing: scripts/install-deps.sh installs it (Debian packages pebble, openssl)");
      }
    }
    Path dir = Files.createTempDirectory("boxd-pebble-");
    run(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString()));
    int acmePort = FreePorts.tcp();
    int managementPort = FreePorts.tcp();
    Files.writeString(dir.resolve("pebble.json"), """
        {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
          "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
          "ocspResponderURL": "", "externalAccountBindingRequired": false}}
        """.formatted(acmePort, managementPort, dir.resolve("cert.pem"), dir.resolve("key.pem"), FreePorts.tcp(), FreePorts.tcp()));
    var builder = new ProcessBuilder("pebble", "-config", dir.resolve("pebble.json").toString(), "-dnsserver", "127.0.0.1:" + dnsPort);
    builder.environment().put("PEBBLE_VA_NOSLEEP", "1"); // validate at once rather than after a random pause
    builder.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
    Process process = builder.redirectErrorStream(true).redirectOutput(dir.resolve("pebble.log").toFile()).start();
    Pebble pebble = new Pebble(dir, process, acmePort, managementPort);
    Instant deadline = Instant.now().plusSeconds(20);
    while (!listening(acmePort) || !listening(managementPort)) {
      if (!process.isAlive() || Instant.now().isAfter(deadline)) {
        String log = pebble.log();
        pebble.close();
        throw new IllegalStateException("pebble did not start: " + log);
      }
      Thread.sleep(50);
    }
    return pebble;
  }

  /** The ACME directory URL. */
  public String directory() {
    return "https://127.0.0.1:" + acmePort + "/dir";
  }

  /** The PEM file of pebble's own HTTPS certificate (self-signed): what an ACME client must trust. */
  public Path tlsCertificate() {
    return dir.resolve("cert.pem");
  }

  /** The PEM of the root that signs the certificates pebble issues (a new one each time pebble starts). */
  public String issuingRoot() throws IOException, InterruptedException {
    try (var in = Files.newInputStream(tlsCertificate())) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      store.setCertificateEntry("pebble", CertificateFactory.getInstance("X.509").generateCertificate(in));
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      var client = HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
      return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + managementPort + "/roots/0")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot trust pebble's certificate: " + e.getMessage(), e);
    }
  }

  public String log() {
    try {
      return Files.readString(dir.resolve("pebble.log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void run(List<String> argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", argv) + " failed: " + out);
    }
  }
}
