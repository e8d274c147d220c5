package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * The certificate an ACME CA issued for {@code zone} and {@code *.zone}: its chain (leaf first)
 * and private key (PKCS#8), both PEM, and the leaf's end of validity. Kept in the replicated state
 * so that every proxy node serves it, and the node that renews it is any node that leads.
 *
 * <p>The limits are part of the state machine (a log replays the same way only under the same
 * limits): change them only with a new command.
 */
public record ZoneCertificate(String zone, String chainPem, String keyPem, Instant notAfter) {
  /** A chain of a leaf and two intermediates is about 5 KB; a key, under 1 KB. */
  public static final int MAX_PEM_LENGTH = 64 * 1024;

  public ZoneCertificate {
    Objects.requireNonNull(zone, "zone");
    Objects.requireNonNull(chainPem, "chainPem");
    Objects.requireNonNull(keyPem, "keyPem");
    Objects.requireNonNull(notAfter, "notAfter");
  }

  @Override
  public String toString() {
    return "ZoneCertificate[zone=" + zone + ", notAfter=" + notAfter + "]"; // never the key
  }
}
