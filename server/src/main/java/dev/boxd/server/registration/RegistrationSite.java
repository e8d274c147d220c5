package dev.boxd.server.registration;

import java.net.URI;
import java.util.Objects;

/**
 * Where the registration pages are ({@code https://<zone>[:PORT]/register}) and the command a
 * user reconnects with once their key is linked.
 *
 * @param baseUrl {@code https://<zone>} with the port when it is not 443
 * @param sshCommand how to reach the SSH front door, such as {@code ssh -p 2222 localhost}
 */
public record RegistrationSite(String baseUrl, String sshCommand) {
  public static final String REGISTER_PATH = "/register";
  public static final String CALLBACK_PATH = "/register/callback";

  public RegistrationSite {
    Objects.requireNonNull(baseUrl, "baseUrl");
    Objects.requireNonNull(sshCommand, "sshCommand");
  }

  /** The site of zone {@code zone} served by an HTTPS edge on {@code httpsPort}. */
  public static RegistrationSite of(String zone, int httpsPort, String sshCommand) {
    return new RegistrationSite("https://" + zone + (httpsPort == 443 ? "" : ":" + httpsPort), sshCommand);
  }

  /** What an unknown key is shown: the page for its code, minus the code. */
  public String registerUrlPrefix() {
    return baseUrl + REGISTER_PATH + "?code=";
  }

  public String registerUrl(String code) {
    return registerUrlPrefix() + code;
  }

  /** Where the issuer sends the browser back: the redirect URI to register with the issuer. */
  public URI callbackUri() {
    return URI.create(baseUrl + CALLBACK_PATH);
  }
}
