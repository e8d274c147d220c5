package dev.boxd.sdk;

import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.ExchangeApiKeyRequest;
import dev.boxd.api.v1.ExchangeApiKeyResponse;
import dev.boxd.api.v1.WhoamiRequest;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A client of one boxd cluster's gRPC API (SPEC §12). Thread-safe; make one and share it, and
 * close it when done (it holds a connection).
 * <pre>{@code
 * try (Boxd boxd = Boxd.fromEnvironment()) {
 *   Machine vm = boxd.machines().create(CreateOptions.named("app"));
 *   System.out.println(boxd.machines().exec(vm.id(), "uname -a").stdout());
 * }
 * }</pre>
 */
public final class Boxd implements AutoCloseable {
  /** Inbound messages up to this size: the unary download's 4 MiB plus room; larger files stream. */
  static final int MAX_INBOUND_BYTES = 16 * 1024 * 1024;
  /** A token the server gave without an expiry is renewed after this long (tokens live about an hour). */
  static final Duration ASSUMED_TOKEN_LIFE = Duration.ofMinutes(10);

  private final ManagedChannel channel;
  private final String url;
  private final BoxdApiGrpc.BoxdApiBlockingStub api;
  private final BoxdApiGrpc.BoxdApiStub asyncApi;
  private final Rpc rpc;
  private final Machines machines;
  private final Files files;
  private final Proxies proxies;
  private final Snapshots snapshots;

  private Boxd(Settings settings, Clock clock) {
    this(channel(settings), settings.endpoint().url(), settings.credential(), clock);
  }

  /** Over a channel made elsewhere (tests use an in-process one). */
  Boxd(ManagedChannel channel, String url, Settings.Credential credential, Clock clock) {
    this.url = url;
    this.channel = channel;
    var blocking = BoxdApiGrpc.newBlockingStub(channel);
    var async = BoxdApiGrpc.newStub(channel);
    TokenSource tokens = switch (credential) {
      case Settings.Credential.ApiKey key -> new ApiKeyTokens(key.secret(), this::exchange, clock);
      case Settings.Credential.Token token -> new TokenSource.Fixed(token.jwt());
      case Settings.Credential.None none -> null;
    };
    if (tokens != null) {
      var auth = new BearerAuth(tokens);
      blocking = blocking.withCallCredentials(auth.credentials()).withInterceptors(auth.expiryWatch());
      async = async.withCallCredentials(auth.credentials()).withInterceptors(auth.expiryWatch());
    }
    this.api = blocking;
    this.asyncApi = async;
    this.rpc = new Rpc(blocking, async, tokens, url);
    this.machines = new Machines(rpc, d -> Thread.sleep(d));
    this.files = new Files(rpc);
    this.proxies = new Proxies(rpc);
    this.snapshots = new Snapshots(rpc);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A client configured by the environment: {@code BOXD_API_URL}, {@code BOXD_API_KEY} or
   * {@code BOXD_TOKEN} (an API key when it starts with {@code bxd_}, else a JWT), and
   * {@code BOXD_CA_CERT} (a PEM file). Inside a boxd VM, with none of them set, the VM's own API.
   */
  public static Boxd fromEnvironment() {
    return fromEnvironment(System.getenv(), Settings.Host.REAL);
  }

  static Boxd fromEnvironment(Map<String, String> env, Settings.Host host) {
    return new Boxd(Settings.resolve(Settings.Given.fromEnvironment(env), host), Clock.systemUTC());
  }

  private static ManagedChannel channel(Settings settings) {
    Endpoint endpoint = settings.endpoint();
    ChannelCredentials credentials;
    if (endpoint.plaintext()) {
      credentials = InsecureChannelCredentials.create();
    } else if (settings.caCertificate() != null) {
      try {
        credentials = TlsChannelCredentials.newBuilder().trustManager(settings.caCertificate().toFile()).build();
      } catch (IOException | RuntimeException e) {
        throw new IllegalArgumentException("cannot use " + settings.caCertificate() + " as the CA certificate (" + e.getMessage()
            + "): give a PEM file with the cluster's CA certificate (BOXD_CA_CERT)", e);
      }
    } else {
      credentials = TlsChannelCredentials.create();
    }
    return Grpc.newChannelBuilderForAddress(endpoint.host(), endpoint.port(), credentials)
        .maxInboundMessageSize(MAX_INBOUND_BYTES)
        // Finds a server that vanished without closing the connection (the server allows pings every 10 s).
        .keepAliveTime(30, TimeUnit.SECONDS)
        .userAgent("boxd-sdk-java")
        .build();
  }

  // The one call made without a token: it is how a token is had.
  private ApiKeyTokens.Issued exchange(String apiKey) {
    ExchangeApiKeyResponse answer;
    try {
      answer = BoxdApiGrpc.newBlockingStub(channel).withDeadlineAfter(Rpc.UNARY.toMillis(), TimeUnit.MILLISECONDS)
          .exchangeApiKey(ExchangeApiKeyRequest.newBuilder().setApiKey(apiKey).build());
    } catch (StatusRuntimeException e) {
      throw BoxdError.from(e, url);
    }
    Instant expiresAt = answer.getExpiresAt() == 0 ? Instant.now().plus(ASSUMED_TOKEN_LIFE) : Instant.ofEpochSecond(answer.getExpiresAt());
    return new ApiKeyTokens.Issued(answer.getToken(), expiresAt);
  }

  /** The raw blocking stub, every call with the bearer token and no deadline; map its failures with {@link BoxdError#from}. */
  public BoxdApiGrpc.BoxdApiBlockingStub api() {
    return api;
  }

  /** The raw async stub, every call with the bearer token and no deadline. */
  public BoxdApiGrpc.BoxdApiStub asyncApi() {
    return asyncApi;
  }

  public Machines machines() {
    return machines;
  }

  public Files files() {
    return files;
  }

  public Proxies proxies() {
    return proxies;
  }

  public Snapshots snapshots() {
    return snapshots;
  }

  /** Who the calls act as. */
  public Identity whoami() {
    var who = rpc.unary(a -> a.whoami(WhoamiRequest.getDefaultInstance()));
    return new Identity(who.getUserId(), who.getName(), who.getKeyFingerprintsList());
  }

  /** The API's URL, as {@code https://HOST:PORT}. */
  public String apiUrl() {
    return url;
  }

  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow(); // cancels calls still open, such as an exec nobody closed: their commands are killed
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "Boxd[" + url + "]";
  }

  /** Settings for a {@link Boxd}; unset ones are not read from the environment (use {@link #fromEnvironment()} for that). */
  public static final class Builder {
    private String apiUrl;
    private String apiKey;
    private String token;
    private Path caCertificate;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** {@code https://HOST[:PORT]} (TLS, port 9443 by default) or {@code http://HOST:PORT} for plaintext. */
    public Builder apiUrl(String apiUrl) {
      this.apiUrl = apiUrl;
      return this;
    }

    /** An API key ({@code bxd_...}): exchanged for tokens, which are renewed before they expire. */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /** A token (JWT), sent as is until the server refuses it. */
    public Builder token(String token) {
      this.token = token;
      return this;
    }

    /** The CA certificate (PEM) to trust for the API's TLS, when the system's trust store lacks it (a self-hosted cluster's local CA). */
    public Builder caCertificate(Path pem) {
      this.caCertificate = pem;
      return this;
    }

    Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Throws {@link IllegalArgumentException} naming what is missing or wrong. */
    public Boxd build() {
      return new Boxd(Settings.resolve(new Settings.Given(apiUrl, apiKey, token, caCertificate), Settings.Host.REAL), clock);
    }
  }
}
