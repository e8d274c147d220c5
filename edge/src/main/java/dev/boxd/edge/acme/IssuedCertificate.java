package dev.boxd.edge.acme;

import java.time.Instant;
import java.util.Objects;

/**
 * A certificate an ACME server issued: the chain (leaf first) and its private key, both PEM (the
 * key PKCS#8, {@code BEGIN PRIVATE KEY}, which is what Netty reads), and the leaf's end of validity.
 */
public record IssuedCertificate(String chainPem, String keyPem, Instant notAfter) {
  public IssuedCertificate {
    Objects.requireNonNull(chainPem, "chainPem");
    Objects.requireNonNull(keyPem, "keyPem");
    Objects.requireNonNull(notAfter, "notAfter");
  }

  @Override
  public String toString() {
    return "IssuedCertificate[notAfter=" + notAfter + "]"; // never the key
  }
}
