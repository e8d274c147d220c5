package dev.boxd.edge.tls;

import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.ZoneCertificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The zone's ACME certificate from the replicated state for the names it covers — the zone and
 * every name one label under it ({@code NAME.<zone>}, as {@code *.zone} does) — and another
 * source (the local CA) for the rest and until the state holds one. The same {@link CertifiedKey}
 * is handed out while the state keeps the same certificate, so TLS contexts are made once per
 * certificate; a renewal is served from the first handshake after the log has it.
 */
public final class ZoneCertificateSource implements CertificateSource {
  private static final Logger log = LoggerFactory.getLogger(ZoneCertificateSource.class);

  private record Parsed(ZoneCertificate from, Optional<CertifiedKey> key) {
  }

  private final StateStore store;
  private final String zone;
  private final CertificateSource otherwise;
  private volatile Parsed parsed = new Parsed(null, Optional.empty());

  public ZoneCertificateSource(StateStore store, String zone, CertificateSource otherwise) {
    this.store = store;
    this.zone = zone;
    this.otherwise = otherwise;
  }

  @Override
  public Optional<CertifiedKey> certificateFor(String serverName) {
    if (serverName != null && covered(serverName)) {
      Optional<CertifiedKey> key = store.read().zoneCertificate(zone).flatMap(this::parsed);
      if (key.isPresent()) {
        return key;
      }
    }
    return otherwise.certificateFor(serverName);
  }

  /** The zone itself, or one DNS label under it. */
  private boolean covered(String name) {
    if (name.equals(zone)) {
      return true;
    }
    int dot = name.indexOf('.');
    return dot > 0 && name.substring(dot + 1).equals(zone);
  }

  private Optional<CertifiedKey> parsed(ZoneCertificate certificate) {
    Parsed held = parsed;
    if (!certificate.equals(held.from())) {
      held = new Parsed(certificate, parse(certificate));
      parsed = held;
    }
    return held.key();
  }

  private static Optional<CertifiedKey> parse(ZoneCertificate certificate) {
    try {
      List<X509Certificate> chain = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(certificate.chainPem().getBytes(StandardCharsets.US_ASCII))).stream()
          .map(X509Certificate.class::cast).toList();
      return Optional.of(new CertifiedKey(Pem.privateKey(certificate.keyPem(), "the key of zone " + certificate.zone()), chain));
    } catch (CertificateException | RuntimeException e) {
      // Served from the local CA instead, and said once per certificate.
      log.warn("the certificate of zone {} in the log cannot be used ({}); serving the local CA's", certificate.zone(), e.getMessage());
      return Optional.empty();
    }
  }
}
