package dev.boxd.edge.tls;

import java.util.Optional;

/**
 * Where the edge gets the certificate for a TLS server name (SNI): the local CA on a single node;
 * an ACME client in production would be another implementation. Empty for a name the edge does
 * not serve, which fails the handshake with {@code unrecognized_name}.
 *
 * <p>Called from the TLS handshake path: an implementation answers from a cache when it can, and
 * may block (issuing) only briefly.
 */
public interface CertificateSource {
  Optional<CertifiedKey> certificateFor(String serverName);
}
