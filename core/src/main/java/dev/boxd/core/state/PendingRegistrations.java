package dev.boxd.core.state;

import dev.boxd.core.ErrorCode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The caps on pending registrations, as {@link Fsm#apply} enforces them: what would stay pending
 * if a key from {@code source} registered at {@code at}, and whether there is room for it. The
 * front door asks the same question before proposing, so that refused strangers add nothing to
 * the log; the state machine's answer is the one that counts.
 */
public record PendingRegistrations(List<String> dropped, int live, int liveFromSource) {

  /** Registrations of {@code state} seen at {@code at} by a new one of {@code fingerprint} from {@code source}. */
  public static PendingRegistrations of(ClusterState state, String fingerprint, String source, Instant at) {
    List<String> dropped = new ArrayList<>();
    int live = 0;
    int fromSource = 0;
    for (Registration r : state.registrations()) {
      // Expired ones go; so does this key's older one, which the new one replaces.
      if (r.expiredAt(at) || r.fingerprint().equals(fingerprint)) {
        dropped.add(r.code());
      } else {
        live++;
        fromSource += r.source().equals(source) ? 1 : 0;
      }
    }
    return new PendingRegistrations(List.copyOf(dropped), live, fromSource);
  }

  /** Why one more registration from {@code source} does not fit; empty when it does. */
  public Optional<Result.Rejected> refusal(String source) {
    if (live >= Registration.MAX_PENDING) {
      return Optional.of(new Result.Rejected(ErrorCode.RESOURCE_EXHAUSTED, "too many pending registrations ("
          + Registration.MAX_PENDING + ", the most this cluster keeps); try again later, or ask the operator to add your key"));
    }
    if (liveFromSource >= Registration.MAX_PENDING_PER_SOURCE) {
      return Optional.of(new Result.Rejected(ErrorCode.RESOURCE_EXHAUSTED, "too many pending registrations from " + source
          + " (" + Registration.MAX_PENDING_PER_SOURCE + ", the most one address may have); try again once one is approved"
          + " or expired, or ask the operator to add your key"));
    }
    return Optional.empty();
  }
}
