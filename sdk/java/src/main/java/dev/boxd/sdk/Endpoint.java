package dev.boxd.sdk;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where the API is: {@code https://HOST[:PORT]} (TLS, port 9443 unless given) or
 * {@code http://HOST:PORT} (plaintext, as the in-VM API is). A path, query or user part is refused
 * rather than ignored: gRPC has no use for them, and a URL with one was likely meant for something else.
 */
record Endpoint(String host, int port, boolean plaintext) {
  static final int DEFAULT_TLS_PORT = 9443;

  static Endpoint parse(String url) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("the API URL is empty: expected https://HOST:9443 (or http://HOST:PORT for plaintext)");
    }
    URI uri;
    try {
      uri = new URI(url.strip());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("the API URL '" + url + "' is not a URL (" + e.getReason() + "): expected https://HOST:9443");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new IllegalArgumentException("the API URL '" + url + "' must start with https:// (TLS) or http:// (plaintext)");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("the API URL '" + url + "' has no host: expected https://HOST:9443");
    }
    if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null
        || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
      throw new IllegalArgumentException("the API URL '" + url + "' must be only scheme, host and port, as https://HOST:9443");
    }
    boolean plaintext = scheme.equals("http");
    if (plaintext && uri.getPort() < 0) {
      throw new IllegalArgumentException("the API URL '" + url + "' needs a port with http://, as http://HOST:9003");
    }
    String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
    return new Endpoint(host, uri.getPort() < 0 ? DEFAULT_TLS_PORT : uri.getPort(), plaintext);
  }

  String url() {
    String shownHost = host.contains(":") ? "[" + host + "]" : host;
    return (plaintext ? "http://" : "https://") + shownHost + ":" + port;
  }
}
