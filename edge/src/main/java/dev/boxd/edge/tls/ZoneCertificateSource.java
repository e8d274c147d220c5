package dev.boxd.edge.tls;

import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.ZoneCertificate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ACME certificates from the replicated state for the names they cover: the zone's for the zone and
 * every name one label under it ({@code NAME.<zone>}, as {@code *.zone} does), and a VM name's for
 * the names under that ({@code SUB.NAME.<zone>}, as {@code *.NAME.zone} does; ordered for a VM
 * name once it has proxies). Another source (the local CA) serves the rest, and a name until the
 * state holds its certificate. The same {@link CertifiedKey} is handed out while the state keeps
 * the same certificate, so TLS contexts are made once per certificate; a renewal is served from
 * the first handshake after the log has it.
 */
public final class ZoneCertificateSource implements CertificateSource {
  private static final Logger log = LoggerFactory.getLogger(ZoneCertificateSource.class);

  private record Parsed(ZoneCertificate from, Optional<CertifiedKey> key) {
  }

  private final StateStore store;
  private final String zone;
  private final CertificateSource otherwise;
  /** By the name a certificate is for: the last one parsed. */
  private final Map<String, Parsed> parsed = new ConcurrentHashMap<>();

  public ZoneCertificateSource(StateStore store, String zone, CertificateSource otherwise) {
    this.store = store;
    this.zone = zone;
    this.otherwise = otherwise;
  }

  @Override
  public Optional<CertifiedKey> certificateFor(String serverName) {
    Optional<String> coveredBy = serverName == null ? Optional.empty() : certificateName(serverName);
    if (coveredBy.isPresent()) {
      Optional<CertifiedKey> key = store.read().zoneCertificate(coveredBy.get()).flatMap(this::parsed);
      if (key.isPresent()) {
        return key;
      }
    }
    return otherwise.certificateFor(serverName);
  }

  /** The name whose certificate covers {@code serverName}: the zone for it and one label under it, NAME.zone for two. */
  private Optional<String> certificateName(String serverName) {
    if (serverName.equals(zone)) {
      return Optional.of(zone);
    }
    if (!serverName.endsWith("." + zone)) {
      return Optional.empty();
    }
    String[] labels = serverName.substring(0, serverName.length() - zone.length() - 1).split("\\.", -1);
    return switch (labels.length) {
      case 1 -> Optional.of(zone);
      case 2 -> Optional.of(labels[1] + "." + zone);
      default -> Optional.empty();
    };
  }

  private Optional<CertifiedKey> parsed(ZoneCertificate certificate) {
    Parsed held = parsed.get(certificate.zone());
    if (held == null || !certificate.equals(held.from())) {
      held = new Parsed(certificate, parse(certificate));
      parsed.put(certificate.zone(), held);
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
