package dev.boxd.sdk;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a {@link Boxd} connects to and with which credential, resolved from the builder's values
 * (which {@link Boxd#fromEnvironment()} fills from the environment). Without a URL, key or token,
 * a boxd VM's own API is used: the guest has no credential, the server knows the VM by its address.
 */
record Settings(Endpoint endpoint, Credential credential, Path caCertificate) {
  static final int IN_VM_API_PORT = 9003;
  static final String API_KEY_PREFIX = "bxd_";

  /** How the calls authenticate. */
  sealed interface Credential {
    record ApiKey(String secret) implements Credential {
      @Override
      public String toString() {
        return "ApiKey[bxd_...]";
      }
    }

    record Token(String jwt) implements Credential {
      @Override
      public String toString() {
        return "Token[...]";
      }
    }

    /** The in-VM API: the VM's address is its identity. */
    record None() implements Credential {}
  }

  /** What tells a boxd VM from elsewhere, and its routes: files, so that tests can point elsewhere. */
  record Host(Path agent, Path procNetRoute) {
    static final Host REAL = new Host(Path.of("/usr/local/bin/boxd-agent"), Path.of("/proc/net/route"));

    boolean insideBoxdVm() {
      return Files.exists(agent);
    }

    InetAddress gateway() {
      String routes;
      try {
        routes = Files.readString(procNetRoute);
      } catch (IOException e) {
        throw new IllegalStateException("this looks like a boxd VM (" + agent + " exists) but " + procNetRoute
            + " cannot be read (" + e.getMessage() + "): set BOXD_API_URL to reach the in-VM API", e);
      }
      return DefaultRoute.gateway(routes).orElseThrow(() -> new IllegalStateException("this looks like a boxd VM (" + agent
          + " exists) but it has no default route in " + procNetRoute + ": set BOXD_API_URL (http://GATEWAY:" + IN_VM_API_PORT + ")"));
    }
  }

  /** The builder's values as given (null when not set). */
  record Given(String apiUrl, String apiKey, String token, Path caCertificate) {
    static Given fromEnvironment(Map<String, String> env) {
      String apiKey = blankToNull(env.get("BOXD_API_KEY"));
      String token = blankToNull(env.get("BOXD_TOKEN"));
      if (apiKey != null && token != null) {
        throw new IllegalArgumentException("both BOXD_API_KEY and BOXD_TOKEN are set: set only one (BOXD_TOKEN may hold an API key too)");
      }
      // BOXD_TOKEN holds either, as the CLI's does (SPEC §12): API keys are told by their prefix.
      if (token != null && token.startsWith(API_KEY_PREFIX)) {
        apiKey = token;
        token = null;
      }
      String ca = blankToNull(env.get("BOXD_CA_CERT"));
      return new Given(blankToNull(env.get("BOXD_API_URL")), apiKey, token, ca == null ? null : Path.of(ca));
    }
  }

  static Settings resolve(Given given, Host host) {
    String apiKey = blankToNull(given.apiKey());
    String token = blankToNull(given.token());
    if (apiKey != null && token != null) {
      throw new IllegalArgumentException("give an API key or a token, not both");
    }
    if (apiKey != null && !apiKey.startsWith(API_KEY_PREFIX)) {
      throw new IllegalArgumentException("the API key does not start with " + API_KEY_PREFIX + ": give it as api-key create printed it"
          + " (a JWT goes to token(...) or BOXD_TOKEN)");
    }
    if (given.caCertificate() != null && !Files.isReadable(given.caCertificate())) {
      throw new IllegalArgumentException("the CA certificate " + given.caCertificate() + " (BOXD_CA_CERT) is not a readable file:"
          + " give the path of the cluster's CA certificate in PEM form");
    }
    Credential credential = apiKey != null ? new Credential.ApiKey(apiKey) : token != null ? new Credential.Token(token) : new Credential.None();
    String url = blankToNull(given.apiUrl());
    if (url != null) {
      return new Settings(Endpoint.parse(url), credential, given.caCertificate());
    }
    if (credential instanceof Credential.None && host.insideBoxdVm()) {
      String gateway = host.gateway().getHostAddress();
      return new Settings(new Endpoint(gateway, IN_VM_API_PORT, true), credential, null);
    }
    if (credential instanceof Credential.None) {
      throw new IllegalArgumentException("no boxd API to talk to: set BOXD_API_URL (https://HOST:9443) and BOXD_API_KEY (bxd_...)"
          + " or BOXD_TOKEN, or give apiUrl and apiKey to Boxd.builder(); inside a boxd VM none of these is needed");
    }
    throw new IllegalArgumentException("an API key or token is given but no API URL: set BOXD_API_URL (or Boxd.builder().apiUrl)"
        + " to the cluster's API, as https://HOST:9443");
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }
}
