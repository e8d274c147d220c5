package dev.boxd.worker.runtime;

import dev.boxd.core.net.Ipv4;
import java.util.Optional;

/**
 * A VM as this worker observes it. {@code pid} is 0 when no QEMU runs for it. {@code failure}: why
 * a failed VM failed, or, for one the worker started again after a failure, how often and the
 * last reason (reported to the log as the VM's observed detail).
 * {@code aheadOfLog}: the runtime paused or resumed it before the log says so (a user's pause or
 * resume, inbound traffic); the planner leaves its power alone meanwhile.
 */
public record VmInfo(String id, String name, String owner, VmState state, Ipv4 ip, String mac, long pid, Optional<String> failure,
    boolean aheadOfLog) {

  public VmInfo(String id, String name, String owner, VmState state, Ipv4 ip, String mac, long pid, Optional<String> failure) {
    this(id, name, owner, state, ip, mac, pid, failure, false);
  }
}
