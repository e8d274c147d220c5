package dev.boxd.worker.runtime;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.net.Ipv4Subnet;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs of one runtime by id, the one way to act on a VM under its lock, and the listeners told
 * of every state change. An operation on one VM holds that VM's lock throughout; different VMs
 * run in parallel.
 */
final class VmTable {
  private static final Logger log = LoggerFactory.getLogger(VmTable.class);
  private static final Set<VmState> ANY_STATE = EnumSet.allOf(VmState.class);

  private final Ipv4Subnet subnet;
  private final Map<String, ManagedVm> vms = new ConcurrentHashMap<>();
  private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();

  VmTable(Ipv4Subnet subnet) {
    this.subnet = subnet;
  }

  /** The VM with this id; NOT_FOUND if there is none. */
  ManagedVm get(String vmId) {
    ManagedVm vm = vmId == null ? null : vms.get(vmId);
    if (vm == null) {
      throw BoxdException.notFound("no VM with id " + dev.boxd.core.Names.quote(vmId) + " on this worker");
    }
    return vm;
  }

  /**
   * Runs {@code body} on the VM holding its lock, once the VM is in one of {@code allowed};
   * otherwise FAILED_PRECONDITION: "VM name is state" followed by {@code refusal}.
   */
  <T> T locked(String vmId, Set<VmState> allowed, String refusal, Function<ManagedVm, T> body) {
    ManagedVm vm = get(vmId);
    vm.lock.lock();
    try {
      if (!allowed.contains(vm.state)) {
        throw refused(vm, refusal);
      }
      return body.apply(vm);
    } finally {
      vm.lock.unlock();
    }
  }

  /** Runs {@code body} on the VM holding its lock, whatever its state. */
  <T> T locked(String vmId, Function<ManagedVm, T> body) {
    return locked(vmId, ANY_STATE, "", body);
  }

  /** {@link #locked(String, Function)} for a body that returns nothing. */
  void lockedRun(String vmId, Consumer<ManagedVm> body) {
    locked(vmId, vm -> {
      body.accept(vm);
      return null;
    });
  }

  /** The error for an operation the VM's state does not allow: "VM name is state" and {@code refusal}. */
  static BoxdException refused(ManagedVm vm, String refusal) {
    return BoxdException.precondition("VM " + vm.record.name() + " is " + vm.state.label() + refusal);
  }

  /**
   * Takes a VM about to be made into the table; refuses an id or an address that a VM here
   * already has, or an address outside this worker's network.
   */
  ManagedVm register(VmDirectory files, VmDirectory.Record record) {
    Ipv4 ip = Ipv4.parse(record.ip());
    if (!subnet.contains(ip) || ip.equals(subnet.gateway())) {
      throw BoxdException.invalid("address " + ip + " is not a VM address of " + subnet);
    }
    ManagedVm vm = new ManagedVm(files, record, VmState.CREATING);
    if (vms.putIfAbsent(record.id(), vm) != null || files.exists()) {
      vms.remove(record.id(), vm);
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "a VM with id " + record.id() + " already exists on this worker");
    }
    if (vms.values().stream().anyMatch(other -> other != vm && other.record.ip().equals(record.ip()))) {
      vms.remove(record.id());
      throw new BoxdException(ErrorCode.ALREADY_EXISTS, "address " + ip + " is already used by another VM");
    }
    return vm;
  }

  /** The VM of a record found on disk at recovery, taken into the table if it is not there yet. */
  ManagedVm recovered(VmDirectory files, VmDirectory.Record record) {
    return vms.computeIfAbsent(record.id(), id -> new ManagedVm(files, record, VmState.CREATING));
  }

  void remove(String vmId) {
    vms.remove(vmId);
  }

  /** The VMs now, a live view. */
  Collection<ManagedVm> values() {
    return vms.values();
  }

  List<VmInfo> list() {
    return vms.values().stream().map(ManagedVm::info).sorted(Comparator.comparing(VmInfo::name)).toList();
  }

  void observe(Consumer<VmEvent> listener) {
    listeners.add(listener);
  }

  /** Sets the VM's observed state (and its failure reason, if failed) and tells every listener. */
  void setState(ManagedVm vm, VmState state, String reason) {
    vm.state = state;
    vm.failure = state == VmState.FAILED ? reason : null;
    VmEvent event = new VmEvent(vm.record.id(), state, Optional.ofNullable(reason));
    for (var listener : listeners) {
      try {
        listener.accept(event);
      } catch (RuntimeException e) {
        log.warn("state listener failed: {}", e.toString());
      }
    }
  }
}
