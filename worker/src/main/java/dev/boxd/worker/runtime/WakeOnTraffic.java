package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.nic;

import dev.boxd.net.HostNetwork;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the tap of each sleeping VM (standby or hibernated) for its first inbound frame and
 * tells the listeners, who decide whether to wake it. A watch that holds the tap keeps the frames
 * it saw, to be handed to the VM once its QEMU reads the tap again.
 */
final class WakeOnTraffic {
  private static final Logger log = LoggerFactory.getLogger(WakeOnTraffic.class);

  private final HostNetwork network;
  private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

  WakeOnTraffic(HostNetwork network) {
    this.network = network;
  }

  void onInbound(Consumer<String> wake) {
    listeners.add(wake);
  }

  // Armed before the VM stops reading its tap (standby) or once nobody holds the tap (hibernated,
  // holding it so the bridge keeps delivering): a frame that arrives in between is not missed.
  void arm(ManagedVm vm, boolean holdTap) {
    disarm(vm);
    if (listeners.isEmpty()) {
      return;
    }
    String id = vm.record.id();
    try {
      vm.wakeWatch = network.watchInbound(nic(vm.record), holdTap, () -> {
        for (var listener : listeners) {
          listener.accept(id);
        }
      });
    } catch (RuntimeException e) {
      log.warn("VM {}: cannot watch its tap to wake it on traffic: {}", id, e.getMessage());
    }
  }

  /** Stops watching; returns the frames a tap-holding watch kept, to hand to the VM once it reads its tap. */
  List<byte[]> disarm(ManagedVm vm) {
    var watch = vm.wakeWatch;
    vm.wakeWatch = null;
    return watch == null ? List.of() : watch.release();
  }
}
