package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Exposure;
import dev.boxd.core.state.Proxy;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations.ExposeView;
import dev.boxd.verbs.Operations.ProxyView;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * How the account's VMs are reached from outside: HTTPS routes ({@code proxy}) and raw forwards
 * ({@code expose}), written to the log; the edge follows the log and carries the traffic.
 */
final class EdgeOperations {
  private static final int RETRIES = 5;

  private final AccountScope scope;

  EdgeOperations(AccountScope scope) {
    this.scope = scope;
  }

  List<ProxyView> proxies(Optional<String> vmRef) {
    ClusterState state = scope.store().read();
    Stream<Vm> vms = vmRef.isPresent() ? Stream.of(scope.find(vmRef.get())) : state.vmsOf(scope.userId()).stream();
    return vms.filter(vm -> vm.desired() != DesiredPower.DESTROYED)
        .flatMap(vm -> state.proxiesOf(vm.id()).stream().map(p -> view(vm, p))).toList();
  }

  ProxyView add(String vmRef, String name, int port) {
    Vm vm = scope.findLiving(vmRef);
    return written(vm, name, new Command.AddProxy(vm.id(), name, port));
  }

  ProxyView setPort(String vmRef, String name, OptionalInt port) {
    Vm vm = scope.findLiving(vmRef);
    int chosen = port.isPresent() ? port.getAsInt() : listenedOn(vm);
    return written(vm, name, new Command.SetProxyPort(vm.id(), name, chosen));
  }

  void remove(String vmRef, String name) {
    Vm vm = scope.findLiving(vmRef);
    scope.store().propose(new Command.RemoveProxy(vm.id(), name)).orThrow();
  }

  private ProxyView written(Vm vm, String name, Command command) {
    long index = scope.store().propose(command).orThrow().index();
    ClusterState state = scope.store().readAtLeast(index, Duration.ofSeconds(30));
    Proxy route = state.proxiesOf(vm.id()).stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    return view(vm, route);
  }

  /** The port the guest listens on (SPEC §6 --port=auto), asked from the guest itself. */
  private int listenedOn(Vm vm) {
    Vm awake = scope.usable(vm.id());
    var tables = new ByteArrayOutputStream();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        scope.workerOf(awake).download(awake.id(), table, tables);
      } catch (BoxdException e) {
        if (e.code() != ErrorCode.NOT_FOUND) { // a guest without IPv6 has no tcp6
          throw e;
        }
      }
      tables.write('\n');
    }
    List<Integer> ports = ListeningPorts.parse(tables.toString(StandardCharsets.US_ASCII));
    return ListeningPorts.choose(ports).orElseThrow(() -> BoxdException.precondition("nothing listens on a TCP port in VM " + vm.name()
        + " (besides SSH and loopback-only servers): start the server, or give the port with --port=N"));
  }

  private ProxyView view(Vm vm, Proxy route) {
    String domain = route.isDefault() ? scope.domainOf(vm) : route.name() + "." + scope.domainOf(vm);
    return new ProxyView(route.name(), vm.name(), domain, route.port());
  }

  ExposeView expose(String vmRef, String protocolWord, int vmPort) {
    Vm vm = scope.findLiving(vmRef);
    Exposure.Protocol protocol = protocol(protocolWord);
    for (int attempt = 0; ; attempt++) {
      ClusterState state = scope.store().read();
      Optional<Exposure> held = find(state, vm, protocol, vmPort);
      if (held.isPresent()) {
        return view(vm, held.get()); // exposing again keeps the public port
      }
      int publicPort = Placement.freePort(state.usedPublicPorts(protocol), Exposure.MIN_PUBLIC_PORT, Exposure.MAX_PUBLIC_PORT, 0,
          scope.random(), "public " + protocol.word() + " port");
      Result result = scope.store().propose(new Command.Expose(vm.id(), protocol, vmPort, publicPort));
      if (result instanceof Result.Rejected rejected && rejected.reason() == Result.Reason.PORT_TAKEN && attempt < RETRIES) {
        continue;
      }
      long index = result.orThrow().index();
      ClusterState after = scope.store().readAtLeast(index, Duration.ofSeconds(30));
      return view(vm, find(after, vm, protocol, vmPort).orElseThrow());
    }
  }

  void unexpose(String vmRef, String protocolWord, int vmPort) {
    Vm vm = scope.find(vmRef);
    scope.store().propose(new Command.Unexpose(vm.id(), protocol(protocolWord), vmPort)).orThrow();
  }

  List<ExposeView> exposures(Optional<String> vmRef) {
    ClusterState state = scope.store().read();
    Stream<Vm> vms = vmRef.isPresent() ? Stream.of(scope.find(vmRef.get())) : state.vmsOf(scope.userId()).stream();
    return vms.flatMap(vm -> state.exposuresOf(vm.id()).stream().map(e -> view(vm, e))).toList();
  }

  private static Optional<Exposure> find(ClusterState state, Vm vm, Exposure.Protocol protocol, int vmPort) {
    return state.exposuresOf(vm.id()).stream().filter(e -> e.protocol() == protocol && e.vmPort() == vmPort).findFirst();
  }

  private ExposeView view(Vm vm, Exposure e) {
    return new ExposeView(vm.id(), vm.name(), scope.domainOf(vm), scope.config().edgeAddress(), e.vmPort(), e.protocol().word(),
        e.publicPort());
  }

  private static Exposure.Protocol protocol(String word) {
    return switch (word.toLowerCase(Locale.ROOT)) {
      case "tcp" -> Exposure.Protocol.TCP;
      case "udp" -> Exposure.Protocol.UDP;
      default -> throw BoxdException.invalid("unknown protocol " + dev.boxd.core.Names.quote(word) + ": expected tcp or udp");
    };
  }
}
