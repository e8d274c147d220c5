package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Worker;
import java.util.Comparator;

/**
 * Choices the control plane makes before proposing a VM, as pure functions of the replicated
 * state; the log's apply re-checks them, so a race between two controllers is a rejection to
 * retry, never a double booking.
 */
final class Placement {
  private Placement() {}

  static Ipv4 privateIp(ClusterState state, ControlConfig config) {
    return config.privateSubnet().allocate(state.usedIps());
  }

  /** Public addresses are shared across owners; within one owner each VM has its own. */
  static Ipv4 publicIp(ClusterState state, String ownerId, ControlConfig config) {
    return config.publicPool().allocate(state.publicIpsOf(ownerId));
  }

  /**
   * The registered worker with the fewest VMs among those with memory for {@code memoryMib} more
   * ({@link ClusterState#memoryRoom}); if none has, the one with the most room, which the log
   * then refuses with a message saying how full it is.
   */
  static String worker(ClusterState state, long memoryMib) {
    Comparator<Worker> fewestVms = Comparator.comparingInt((Worker w) -> state.vmsOnWorker(w.id()).size()).thenComparing(Worker::id);
    return state.workers().stream()
        .filter(w -> state.memoryRoom(w) >= memoryMib)
        .min(fewestVms)
        .or(() -> state.workers().stream().max(Comparator.comparingLong(state::memoryRoom)))
        .map(Worker::id)
        .orElseThrow(() -> new BoxdException(ErrorCode.UNAVAILABLE, "no worker has joined the cluster yet"));
  }
}
