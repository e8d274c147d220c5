package dev.boxd.edge.route;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Proxy;
import dev.boxd.core.state.StateStore;
import java.util.Optional;

/**
 * Routes from the local replica: {@code NAME.<zone>} leads to the VM's default route (port
 * {@value Proxy#DEFAULT_PORT} unless {@code proxy set-port} moved it) and {@code SUB.NAME.<zone>}
 * to the port of the VM's route named SUB ({@code proxy new}). NAME is looked up across accounts:
 * the log keeps VM names unique among live VMs because they are public host names.
 */
public final class StateRouteTable implements RouteTable {
  private final StateStore store;

  public StateRouteTable(StateStore store) {
    this.store = store;
  }

  @Override
  public Optional<Route> route(EdgeName name) {
    String sub = name.sub().orElse(Proxy.DEFAULT_NAME);
    if (name.sub().isPresent() && sub.equals(Proxy.DEFAULT_NAME)) {
      return Optional.empty(); // default.NAME is not a name of the default route
    }
    ClusterState state = store.read();
    return state.vmByName(name.vm()).flatMap(vm -> state.proxiesOf(vm.id()).stream()
        .filter(proxy -> proxy.name().equals(sub))
        .findFirst()
        .map(proxy -> new Route(vm.id(), vm.name(), proxy.port())));
  }
}
