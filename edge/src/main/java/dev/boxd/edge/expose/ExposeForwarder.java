package dev.boxd.edge.expose;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Exposure;
import dev.boxd.core.state.StateFollower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * The data plane of {@code expose} (SPEC §3): for every forward in the log, a listener on its
 * public port of the edge address that carries TCP connections ({@link TcpForward}) or UDP
 * datagrams ({@link UdpForward}) to the VM's port through the VM's worker. It follows the log as
 * it changes: a new forward starts listening, a removed one (or one of a destroyed VM) stops and
 * its connections close. A sleeping VM is woken by the first connection or datagram for it.
 */
public final class ExposeForwarder implements AutoCloseable {
  private static final System.Logger log = System.getLogger(ExposeForwarder.class.getName());

  private final StateStore store;
  private final Workers workers;
  private final InetAddress edgeAddress;
  private volatile StateFollower follower;
  // Touched by the sync thread only (and by close, after it stopped).
  private final Map<Exposure, Forward> open = new HashMap<>();
  private volatile boolean closed;

  /** One listening forward. */
  interface Forward extends AutoCloseable {
    @Override
    void close();
  }

  private ExposeForwarder(StateStore store, Workers workers, InetAddress edgeAddress) {
    this.store = store;
    this.workers = workers;
    this.edgeAddress = edgeAddress;
  }

  /** Starts forwarding what the log holds, on {@code edgeAddress}, and follows the log from now on. */
  public static ExposeForwarder start(StateStore store, Workers workers, InetAddress edgeAddress) {
    var forwarder = new ExposeForwarder(store, workers, edgeAddress);
    forwarder.follower = StateFollower.start("expose-sync", store, forwarder::sync,
        e -> log.log(Level.WARNING, "expose: cannot follow the log: {0}", e.toString()));
    return forwarder;
  }

  /** The forwards listening now, by protocol and public port: for tests and the operator. */
  public synchronized java.util.Set<Exposure> listening() {
    return java.util.Set.copyOf(open.keySet());
  }

  private synchronized void sync(ClusterState state) {
    if (closed) {
      return;
    }
    var wanted = new java.util.HashSet<>(state.exposures());
    open.entrySet().removeIf(entry -> {
      if (wanted.contains(entry.getKey())) {
        return false;
      }
      entry.getValue().close();
      log.log(Level.DEBUG, "expose: stopped {0}", describe(entry.getKey()));
      return true;
    });
    for (Exposure exposure : wanted) {
      if (open.containsKey(exposure)) {
        continue;
      }
      var address = new InetSocketAddress(edgeAddress, exposure.publicPort());
      try {
        Forward forward = switch (exposure.protocol()) {
          case TCP -> TcpForward.open(address, exposure, this);
          case UDP -> UdpForward.open(address, exposure, this);
        };
        open.put(exposure, forward);
        log.log(Level.DEBUG, "expose: {0}", describe(exposure));
      } catch (IOException e) {
        // Tried again at the next change of the log.
        log.log(Level.WARNING, "expose: cannot listen on {0} for {1}: {2}", address, describe(exposure), e.getMessage());
      }
    }
  }

  private String describe(Exposure e) {
    return e.protocol().word() + " " + edgeAddress.getHostAddress() + ":" + e.publicPort() + " -> VM " + e.vmId() + " port " + e.vmPort();
  }

  /**
   * The worker of the forward's VM, with the VM awake: traffic for a sleeping VM wakes it, as any
   * inbound packet does. Throws for a VM that is gone, stopped or no longer forwarded.
   */
  WorkerPort awake(Exposure exposure) {
    Vm vm = store.read().vm(exposure.vmId())
        .filter(v -> store.read().exposuresOf(v.id()).contains(exposure))
        .orElseThrow(() -> BoxdException.notFound("the forward " + describe(exposure) + " is gone"));
    WorkerPort worker = workers.worker(vm.workerId());
    switch (vm.desired()) {
      case STOPPED -> throw BoxdException.precondition("VM " + vm.name() + " is stopped");
      case DESTROYED -> throw BoxdException.notFound("VM " + vm.name() + " is being destroyed");
      case STANDBY, HIBERNATED -> worker.wake(vm.id());
      case RUNNING -> { }
    }
    return worker;
  }

  static void debug(String message, Object... args) {
    log.log(Level.DEBUG, message, args);
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (follower != null) {
      follower.close();
    }
    open.values().forEach(Forward::close);
    open.clear();
  }
}
