package dev.boxd.server;

import dev.boxd.api.grpc.AddressCallers;
import dev.boxd.control.ControlConfig;
import dev.boxd.control.ControlOperations;
import dev.boxd.workerport.Workers;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations;
import dev.boxd.worker.gateway.GuestGateway;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Clock;
import java.util.Optional;

/**
 * The callers of the in-VM gateway and the in-VM API as the replicated state knows them: the live
 * VM holding the source address, acting as its owner. Looked up per connection (the gateway) or
 * per call (the API), so after a fork the copy's address names the copy, and a destroyed VM's
 * address names nobody until it is given out again. An isolated VM is refused, with the reason.
 */
final class StateGuestCallers implements GuestGateway.Callers, AddressCallers {
  private final StateStore store;
  private final Workers workers;
  private final ControlConfig config;
  private final Clock clock;

  StateGuestCallers(StateStore store, Workers workers, ControlConfig config, Clock clock) {
    this.store = store;
    this.workers = workers;
    this.config = config;
    this.clock = clock;
  }

  @Override
  public Optional<Operations> byAddress(InetAddress source) {
    return vmAt(source).map(this::operationsOf);
  }

  @Override
  public Optional<Caller> at(InetAddress source) {
    return vmAt(source).map(vm -> new Caller(vm.ownerId(), operationsOf(vm)));
  }

  private Operations operationsOf(Vm vm) {
    return ControlOperations.insideVm(vm, store, workers, config, clock);
  }

  private Optional<Vm> vmAt(InetAddress source) {
    if (!(source instanceof Inet4Address)) {
      return Optional.empty();
    }
    Ipv4 address = Ipv4.parse(source.getHostAddress());
    Optional<Vm> caller = store.read().vms().stream()
        .filter(vm -> vm.ip().equals(address) && vm.desired() != DesiredPower.DESTROYED)
        .findFirst();
    if (caller.isPresent() && caller.get().isolated()) {
      // An isolated VM holds none of its owner's authority (SPEC §12): its address names nobody here.
      throw new BoxdException(ErrorCode.PERMISSION_DENIED, ISOLATED);
    }
    return caller;
  }

  static final String ISOLATED =
      "this VM is isolated: the boxd CLI is not available inside it; drive it from outside (ssh, the API)";

}
