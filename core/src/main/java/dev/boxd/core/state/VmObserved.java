package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * The worker's report about one VM. {@code pid} is the VMM process (0 when none runs);
 * {@code rebootSeqSeen} is the {@link Vm#rebootSeq()} the worker has carried out, so a reboot is
 * done when the two are equal; {@code detail} explains a failure, empty otherwise.
 */
public record VmObserved(VmStatus status, long pid, String detail, Instant at, long rebootSeqSeen) {
  public VmObserved {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(detail, "detail");
    Objects.requireNonNull(at, "at");
  }

  /** What a VM looks like before its worker has said anything about it. */
  public static VmObserved initial(Instant at) {
    return new VmObserved(VmStatus.CREATING, 0, "", at, 0);
  }
}
