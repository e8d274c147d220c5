package dev.boxd.api.grpc;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * Where the API's TLS certificate comes from, asked on every handshake so that a renewed one is
 * served without a restart (the server hands the edge's: the zone's ACME certificate, or the local
 * CA's). Answer from a cache: it is called on the handshake path.
 */
@FunctionalInterface
public interface ServerCertificates {
  /** A private key and its chain, leaf first. */
  record Certified(PrivateKey key, List<X509Certificate> chain) {
    public Certified {
      chain = List.copyOf(chain);
      if (chain.isEmpty()) {
        throw new IllegalArgumentException("a certificate chain needs at least the leaf");
      }
    }
  }

  /** The certificate for a TLS server name (lower case); empty for a name not served. */
  Optional<Certified> forServerName(String serverName);
}
