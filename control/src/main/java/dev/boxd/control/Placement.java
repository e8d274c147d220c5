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
   * A port from {@code min} to {@code max} outside {@code used} and other than {@code reserved}
   * (a per-VM SSH port, a public port of a forward); random, so two proposers rarely race for one
   * (the log refuses the loser, who picks again). RESOURCE_EXHAUSTED when none is left.
   */
  static int freePort(java.util.SortedSet<Integer> used, int min, int max, int reserved, java.util.random.RandomGenerator random,
      String what) {
    for (int attempt = 0; attempt < 64; attempt++) {
      int port = random.nextInt(min, max + 1);
      if (!used.contains(port) && port != reserved) {
        return port;
      }
    }
    for (int port = min; port <= max; port++) {
      if (!used.contains(port) && port != reserved) {
        return port;
      }
    }
    throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "every " + what + " from " + min + " to " + max + " is in use");
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
