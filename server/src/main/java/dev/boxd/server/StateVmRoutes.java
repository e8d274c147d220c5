package dev.boxd.server;

import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;
import dev.boxd.core.BoxdException;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.StateFollower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.ssh.VmGateway;
import dev.boxd.ssh.VmRoutes;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH gateway's routes from the replicated state: a key's account and a public address name
 * at most one VM, and so does a VM's own SSH port with its owner's key; the connection to it goes
 * through the VM's worker. Also keeps the gateway listening on exactly the public addresses and
 * the SSH ports of the VMs that exist, following the log.
 */
final class StateVmRoutes implements VmRoutes, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StateVmRoutes.class);
  private static final int SSH_PORT = 22;

  private final StateStore store;
  private final Workers workers;
  private volatile VmGateway gateway;
  private volatile StateFollower follower;

  StateVmRoutes(StateStore store, Workers workers) {
    this.store = store;
    this.workers = workers;
  }

  /** Keeps {@code target} listening on the public addresses in use, from now on. */
  void follow(VmGateway target) {
    this.gateway = target;
    follower = StateFollower.start("vm-ssh-sync", store, this::sync,
        e -> log.warn("cannot update the VM SSH gateway's addresses: {}", e.toString()));
  }

  private void sync(ClusterState state) {
    VmGateway target = gateway;
    Set<InetAddress> addresses = new HashSet<>();
    Set<String> vmIds = new HashSet<>();
    Set<Integer> vmPorts = new HashSet<>();
    for (Vm vm : state.vms()) {
      if (vm.desired() != DesiredPower.DESTROYED) {
        addresses.add(inet(vm.publicIp()));
        vmIds.add(vm.id());
        if (vm.hasSshPort()) {
          vmPorts.add(vm.sshPort());
        }
      }
    }
    target.listen(addresses);
    target.listenVmPorts(vmPorts);
    target.retainVms(vmIds);
  }

  private static InetAddress inet(Ipv4 ip) {
    try {
      return InetAddress.getByName(ip.toString()); // a literal: no lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Optional<VmRoute> route(InetAddress address, String fingerprint) {
    if (!(address instanceof Inet4Address)) {
      return Optional.empty();
    }
    Ipv4 ip = Ipv4.parse(address.getHostAddress());
    ClusterState state = store.read();
    return state.userByKey(fingerprint).flatMap(user -> state.vmsOf(user.id()).stream()
        .filter(vm -> vm.publicIp().equals(ip) && vm.desired() != DesiredPower.DESTROYED)
        .findFirst())
        .map(vm -> new VmRoute(vm.id(), vm.name()));
  }

  @Override
  public Optional<VmRoute> routeByPort(int port, String fingerprint) {
    ClusterState state = store.read();
    return state.userByKey(fingerprint).flatMap(user -> state.vmBySshPort(port)
        .filter(vm -> vm.ownerId().equals(user.id()) && vm.desired() != DesiredPower.DESTROYED))
        .map(vm -> new VmRoute(vm.id(), vm.name()));
  }

  @Override
  public SocketChannel connect(VmRoute route, Duration timeout) throws IOException {
    Vm vm = vm(route);
    WorkerPort worker = workers.worker(vm.workerId());
    switch (vm.desired()) {
      case STOPPED -> throw BoxdException.precondition("VM " + vm.name() + " is stopped; start it first");
      case DESTROYED -> throw BoxdException.notFound("VM " + vm.name() + " is being destroyed");
      // An SSH connection is inbound traffic: it wakes a sleeping VM, as any packet would.
      case STANDBY, HIBERNATED -> worker.wake(vm.id());
      default -> { }
    }
    return worker.connect(vm.id(), SSH_PORT, timeout);
  }

  @Override
  public String hostKey(VmRoute route) {
    Vm vm = vm(route);
    return workers.worker(vm.workerId()).sshHostKey(vm.id());
  }

  private Vm vm(VmRoute route) {
    return store.read().vm(route.vmId()).orElseThrow(() -> BoxdException.notFound("VM " + route.vmName() + " no longer exists"));
  }

  @Override
  public void close() {
    if (follower != null) {
      follower.close();
    }
  }
}
