package dev.boxd.edge.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** A private key and its certificate chain, leaf first: what a TLS server presents for one name. */
public record CertifiedKey(PrivateKey key, List<X509Certificate> chain) {
  public CertifiedKey {
    Objects.requireNonNull(key, "key");
    chain = List.copyOf(chain);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("a certificate chain needs at least the leaf");
    }
  }

  public X509Certificate leaf() {
    return chain.getFirst();
  }

  /** The key as PKCS#8 PEM and the chain as PEM, leaf first: what other TLS servers (nginx) read. */
  public String keyPem() {
    return Pem.of(key);
  }

  public String chainPem() {
    StringBuilder pem = new StringBuilder();
    chain.forEach(certificate -> pem.append(Pem.of(certificate)));
    return pem.toString();
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }
}
