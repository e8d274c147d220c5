package dev.boxd.edge.route;

import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.StateStore;
import dev.boxd.core.state.Vm;
import java.util.Comparator;
import java.util.Optional;

/**
 * Routes from the local replica as it is today: {@code NAME.<zone>} leads to port
 * {@value #DEFAULT_PORT} of the VM named NAME that is not being destroyed. The replica holds no
 * proxies (SUB routes) yet, so {@code SUB.NAME.<zone>} leads nowhere.
 *
 * <p>VM names are unique per account, not across accounts; until the edge's names are, the
 * oldest VM of that name wins, so a later VM of another account cannot take over a name.
 */
public final class StateRouteTable implements RouteTable {
  /** The port {@code https://NAME.<zone>} serves (SPEC §6). */
  public static final int DEFAULT_PORT = 8000;

  private final StateStore store;

  public StateRouteTable(StateStore store) {
    this.store = store;
  }

  @Override
  public Optional<Route> route(EdgeName name) {
    if (name.sub().isPresent()) {
      return Optional.empty();
    }
    return store.read().vms().stream()
        .filter(vm -> vm.name().equals(name.vm()) && vm.desired() != DesiredPower.DESTROYED)
        .min(Comparator.comparing(Vm::createdAt).thenComparing(Vm::id))
        .map(vm -> new Route(vm.id(), vm.name(), DEFAULT_PORT));
  }
}
