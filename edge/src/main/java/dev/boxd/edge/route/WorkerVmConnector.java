package dev.boxd.edge.route;

import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmStatus;
import dev.boxd.workerport.WorkerPort;
import dev.boxd.workerport.Workers;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/** Reaches VMs through their workers, as the local replica places them. */
public final class WorkerVmConnector implements VmConnector {
  private final StateStore store;
  private final Workers workers;

  public WorkerVmConnector(StateStore store, Workers workers) {
    this.store = store;
    this.workers = workers;
  }

  @Override
  public boolean isAwake(String vmId) {
    return store.read().vm(vmId)
        .map(vm -> vm.desired() == dev.boxd.core.state.DesiredPower.RUNNING && vm.observed().status() == VmStatus.RUNNING)
        .orElse(false);
  }

  @Override
  public SocketChannel connect(Route route, Duration timeout) throws IOException {
    Vm vm = store.read().vm(route.vmId())
        .orElseThrow(() -> new VmUnavailable(VmUnavailable.Why.GONE, "VM " + route.vmName() + " no longer exists"));
    WorkerPort worker = workers.worker(vm.workerId());
    switch (vm.desired()) {
      case DESTROYED -> throw new VmUnavailable(VmUnavailable.Why.GONE, "VM " + vm.name() + " is being destroyed");
      case STOPPED -> throw new VmUnavailable(VmUnavailable.Why.STOPPED, "VM " + vm.name() + " is stopped; its owner can start it"
          + " with: start " + vm.name());
      // A request is inbound traffic: it wakes a sleeping VM, as any packet would.
      case STANDBY, HIBERNATED -> worker.wake(vm.id());
      case RUNNING -> {
        VmStatus seen = vm.observed().status();
        if (seen == VmStatus.STOPPED || seen == VmStatus.FAILED) {
          String detail = vm.observed().detail().isEmpty() ? "" : " (" + vm.observed().detail() + ")";
          throw new VmUnavailable(VmUnavailable.Why.STOPPED, "VM " + vm.name() + " is " + seen.name().toLowerCase(java.util.Locale.ROOT)
              + detail);
        }
        if (seen == VmStatus.STANDBY || seen == VmStatus.HIBERNATED) {
          worker.wake(vm.id()); // asked to run, not there yet (a wake under way): wait for it too
        }
      }
    }
    return worker.connect(vm.id(), route.port(), timeout);
  }
}
