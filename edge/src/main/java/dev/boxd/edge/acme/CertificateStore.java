package dev.boxd.edge.acme;

import java.util.Optional;

/** Where a zone's ACME certificate is kept so that every proxy node serves it: the replicated state. */
public interface CertificateStore {
  Optional<IssuedCertificate> current(String zone);

  void save(String zone, IssuedCertificate certificate);
}
