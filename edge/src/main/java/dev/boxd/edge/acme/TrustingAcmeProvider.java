package dev.boxd.edge.acme;

import java.net.http.HttpClient;
import javax.net.ssl.SSLContext;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * An ACME server at an {@code https} URL whose certificate is signed by a CA the operator names
 * (a private ACME CA such as step-ca, or a test CA such as pebble) rather than one the JVM trusts.
 */
final class TrustingAcmeProvider extends GenericAcmeProvider {
  private final SSLContext trust;

  TrustingAcmeProvider(SSLContext trust) {
    this.trust = trust;
  }

  @Override
  public HttpClient createHttpClient(NetworkSettings settings) {
    return HttpClient.newBuilder()
        .sslContext(trust)
        .connectTimeout(settings.getTimeout())
        .followRedirects(HttpClient.Redirect.NORMAL)
        .build();
  }
}
