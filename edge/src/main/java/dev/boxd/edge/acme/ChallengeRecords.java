package dev.boxd.edge.acme;

import java.util.List;

/**
 * Where DNS-01 answers are put for the ACME server to find: TXT records under our own zone. The
 * zone's DNS role serves them from the replicated state, so publishing is a write to the log.
 */
public interface ChallengeRecords {
  /** Serves {@code values} as the TXT records of {@code name} (fully qualified, no trailing dot) from now on. */
  void publish(String name, List<String> values);

  /** Stops serving the TXT records of {@code name}. */
  void withdraw(String name);
}
