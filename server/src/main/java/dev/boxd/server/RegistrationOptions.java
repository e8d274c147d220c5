package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.StateStore;
import dev.boxd.server.registration.OidcIssuer;
import dev.boxd.server.registration.OidcRegistration;
import dev.boxd.server.registration.OperatorApproval;
import dev.boxd.server.registration.RegistrationSite;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

/** How unknown keys sign up, from {@code boxd server}'s flags: through an OpenID issuer, or by the operator's approval. */
final class RegistrationOptions {
  private RegistrationOptions() {}

  /** The issuer the flags name, checked whole; empty when none is named (the operator approves). */
  static Optional<OidcIssuer> issuer(String issuer, String clientId, Path secretFile, boolean noEdge) throws IOException {
    if (issuer == null) {
      if (clientId != null || secretFile != null) {
        throw BoxdException.invalid("--oidc-client-id and --oidc-client-secret-file need --oidc-issuer=URL, the issuer they belong to");
      }
      return Optional.empty();
    }
    if (noEdge) {
      throw BoxdException.invalid("--oidc-issuer needs the HTTPS edge, which serves the registration pages: drop --no-edge");
    }
    if (clientId == null || clientId.isBlank() || secretFile == null) {
      throw BoxdException.invalid("--oidc-issuer=" + issuer + " needs --oidc-client-id=ID and --oidc-client-secret-file=PATH (the client"
          + " registered at the issuer, with redirect URI https://<zone>[:PORT]/register/callback)");
    }
    if (!Files.isRegularFile(secretFile)) {
      throw BoxdException.invalid("--oidc-client-secret-file=" + secretFile + ": no such file; write the client secret into it");
    }
    String secret = Files.readString(secretFile).strip();
    if (secret.isEmpty() || secret.contains("\n")) {
      throw BoxdException.invalid("--oidc-client-secret-file=" + secretFile + ": expected the client secret alone, on one line");
    }
    return Optional.of(new OidcIssuer(issuerUri(issuer), clientId, secret));
  }

  // https, except on this host, as OAuth allows for loopback: a token endpoint over plain HTTP
  // elsewhere would hand the client secret and the user's tokens to whoever listens on the way.
  private static URI issuerUri(String issuer) {
    URI uri;
    try {
      uri = new URI(issuer);
    } catch (java.net.URISyntaxException e) {
      throw BoxdException.invalid("--oidc-issuer=" + issuer + ": not a URL (" + e.getReason() + "); expected such as https://accounts.example.com");
    }
    String host = uri.getHost() == null ? "" : uri.getHost();
    boolean loopback = host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]");
    if (!"https".equals(uri.getScheme()) && !("http".equals(uri.getScheme()) && loopback)) {
      throw BoxdException.invalid("--oidc-issuer=" + issuer + ": expected an https:// URL (http:// only for an issuer on this host)");
    }
    return uri;
  }

  /** How a user reaches the front door again, for the pages to say. */
  static String sshCommand(String listen, int sshPort, String zone) {
    String host = listen.equals("0.0.0.0") || listen.equals("::") ? zone : listen;
    return "ssh " + (sshPort == 22 ? "" : "-p " + sshPort + " ") + host;
  }

  static void addPages(ZonePageRoutes pages, RegistrationSite site, Optional<OidcIssuer> issuer, StateStore store, Clock clock) {
    if (issuer.isPresent()) {
      var oidc = new OidcRegistration(store, clock, site, issuer.get());
      pages.add(RegistrationSite.REGISTER_PATH, oidc.start()).add(RegistrationSite.CALLBACK_PATH, oidc.callback());
    } else {
      pages.add(RegistrationSite.REGISTER_PATH, new OperatorApproval(store, clock, site));
    }
  }
}
