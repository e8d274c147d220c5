package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.sdk.Boxd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the CLI's calls go and who they act as, from (first wins) the command's options, the
 * environment ({@code BOXD_API_URL}, {@code BOXD_TOKEN}: an API key or a JWT, {@code BOXD_CA_CERT})
 * and the stored login. Credentials are never required on the command line (SPEC §12).
 */
record Connection(String apiUrl, Optional<String> secret, Optional<Path> caCert, Optional<Credentials> login) {

  static Connection resolve(GlobalOptions options) {
    Optional<Credentials> login = Credentials.load();
    String apiUrl = options.apiUrl().or(() -> env("BOXD_API_URL")).or(() -> login.map(Credentials::apiUrl).filter(u -> !u.isEmpty()))
        .orElse(null);
    Optional<String> secret = options.token().or(() -> env("BOXD_TOKEN")).or(() -> login.map(Credentials::apiKey).filter(k -> !k.isEmpty()));
    Optional<Path> caCert = options.caCert().or(() -> env("BOXD_CA_CERT")).map(Path::of).or(() -> login.flatMap(Credentials::caCert));
    if (apiUrl == null) {
      throw new BoxdException(ErrorCode.UNAUTHENTICATED,
          "not logged in: run `boxd auth login --api-url https://HOST:9443`, or set BOXD_API_URL and BOXD_TOKEN");
    }
    caCert.ifPresent(Connection::requireReadable);
    return new Connection(checkUrl(apiUrl), secret, caCert, login);
  }

  /** A client that acts as the account of the token or key; fails when there is none. */
  Boxd authenticated() {
    String value = secret.orElseThrow(() -> new BoxdException(ErrorCode.UNAUTHENTICATED,
        "no credentials for " + apiUrl + ": run `boxd auth login`, or set BOXD_TOKEN to an API key (bxd_...) or a token"));
    var builder = Boxd.builder().apiUrl(apiUrl);
    if (value.startsWith("bxd_")) {
      builder.apiKey(value);
    } else {
      builder.token(value);
    }
    caCert.ifPresent(builder::caCertificate);
    return builder.build();
  }

  /** A client without credentials, for what a device does before it has any (login). */
  Boxd anonymous() {
    var builder = Boxd.builder().apiUrl(apiUrl); // no key, no token: calls go without one
    caCert.ifPresent(builder::caCertificate);
    return builder.build();
  }

  static String checkUrl(String url) {
    if (!url.startsWith("https://") && !url.startsWith("http://")) {
      throw BoxdException.invalid("invalid API URL \"" + url + "\": expected https://HOST[:PORT] (the server's gRPC API, port 9443 by default)");
    }
    try {
      var uri = java.net.URI.create(url);
      if (uri.getHost() == null) {
        throw new IllegalArgumentException("no host");
      }
    } catch (IllegalArgumentException e) {
      throw BoxdException.invalid("invalid API URL \"" + url + "\": expected https://HOST[:PORT]");
    }
    return url;
  }

  private static void requireReadable(Path ca) {
    if (!Files.isReadable(ca)) {
      throw BoxdException.invalid("cannot read the CA certificate " + ca + ": give a PEM file (the server's `boxd ca --quiet`)");
    }
  }

  private static Optional<String> env(String name) {
    return Optional.ofNullable(System.getenv(name)).filter(v -> !v.isBlank());
  }
}
