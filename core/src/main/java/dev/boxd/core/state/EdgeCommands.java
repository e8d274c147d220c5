package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;

/**
 * How a VM is reached from outside: its HTTPS routes, its raw forwards and its own SSH port. The
 * control plane writes them; the edge (HTTPS proxy, forwards, SSH gateway) follows them. Each
 * belongs to a VM that is not being destroyed, and goes with it.
 */
final class EdgeCommands {
  private EdgeCommands() {}

  static Applied addProxy(ClusterState s, Command.AddProxy c) {
    Vm vm = living(s, c.vmId());
    if (vm == null) {
      return notLiving(s, c.vmId());
    }
    if (c.name().equals(Proxy.DEFAULT_NAME)) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "every VM has the route " + quote(Proxy.DEFAULT_NAME) + " (" + vm.name()
          + ".<zone>) already: move it with proxy set-port, or choose another name");
    }
    if (!Names.isValid(c.name())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, invalidName(c.name()));
    }
    String badPort = badPort(c.port());
    if (badPort != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, badPort);
    }
    if (s.namedProxiesOf(vm.id()).stream().anyMatch(p -> p.name().equals(c.name()))) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "VM " + quote(vm.name()) + " has a route named " + quote(c.name())
          + " already: change its port with proxy set-port");
    }
    int held = s.namedProxiesOf(vm.id()).size();
    if (held >= Proxy.MAX_PER_VM) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, "VM " + quote(vm.name()) + " has " + held + " routes, the most a VM may have"
          + " besides its default one: delete one with proxy delete");
    }
    return ok(s.withProxy(new Proxy(vm.id(), c.name(), c.port())));
  }

  static Applied setProxyPort(ClusterState s, Command.SetProxyPort c) {
    Vm vm = living(s, c.vmId());
    if (vm == null) {
      return notLiving(s, c.vmId());
    }
    String badPort = badPort(c.port());
    if (badPort != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, badPort);
    }
    boolean known = c.name().equals(Proxy.DEFAULT_NAME)
        || s.namedProxiesOf(vm.id()).stream().anyMatch(p -> p.name().equals(c.name()));
    if (!known) {
      return reject(s, ErrorCode.NOT_FOUND, noRoute(vm, c.name()));
    }
    return ok(s.withProxy(new Proxy(vm.id(), c.name(), c.port())));
  }

  static Applied removeProxy(ClusterState s, Command.RemoveProxy c) {
    Vm vm = living(s, c.vmId());
    if (vm == null) {
      return notLiving(s, c.vmId());
    }
    if (c.name().equals(Proxy.DEFAULT_NAME)) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "the default route of VM " + quote(vm.name())
          + " cannot be deleted: it goes as the VM does; move it with proxy set-port");
    }
    if (s.namedProxiesOf(vm.id()).stream().noneMatch(p -> p.name().equals(c.name()))) {
      return reject(s, ErrorCode.NOT_FOUND, noRoute(vm, c.name()));
    }
    return ok(s.withoutProxy(vm.id(), c.name()));
  }

  static Applied expose(ClusterState s, Command.Expose c) {
    Vm vm = living(s, c.vmId());
    if (vm == null) {
      return notLiving(s, c.vmId());
    }
    String badPort = badPort(c.vmPort());
    if (badPort != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, badPort);
    }
    boolean again = s.exposuresOf(vm.id()).stream().anyMatch(e -> e.protocol() == c.protocol() && e.vmPort() == c.vmPort());
    if (again) {
      return ok(s); // re-exposing keeps the public port it has (SPEC §12)
    }
    if (c.publicPort() < Exposure.MIN_PUBLIC_PORT || c.publicPort() > Exposure.MAX_PUBLIC_PORT) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "public port " + c.publicPort() + " is outside " + Exposure.MIN_PUBLIC_PORT + "-"
          + Exposure.MAX_PUBLIC_PORT);
    }
    int held = s.exposuresOf(vm.id()).size();
    if (held >= Exposure.MAX_PER_VM) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, "VM " + quote(vm.name()) + " has " + held + " ports exposed, the most a VM may"
          + " have: remove one with expose " + vm.name() + " PORT --remove");
    }
    if (s.exposure(c.protocol(), c.publicPort()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "public " + c.protocol().word() + " port " + c.publicPort() + " is taken",
          Result.Reason.PORT_TAKEN);
    }
    return ok(s.withExposure(new Exposure(vm.id(), c.protocol(), c.vmPort(), c.publicPort())));
  }

  static Applied unexpose(ClusterState s, Command.Unexpose c) {
    Vm vm = s.vm(c.vmId()).orElse(null);
    if (vm == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no VM with id " + quote(c.vmId()));
    }
    return s.exposuresOf(vm.id()).stream().filter(e -> e.protocol() == c.protocol() && e.vmPort() == c.vmPort()).findFirst()
        .map(e -> ok(s.withoutExposure(e)))
        .orElseGet(() -> reject(s, ErrorCode.NOT_FOUND, "VM " + quote(vm.name()) + " has no " + c.protocol().word() + " port "
            + c.vmPort() + " exposed"));
  }

  static Applied setSshPort(ClusterState s, Command.SetSshPort c) {
    Vm vm = living(s, c.vmId());
    if (vm == null) {
      return notLiving(s, c.vmId());
    }
    if (c.port() < Vm.MIN_SSH_PORT || c.port() > Vm.MAX_SSH_PORT) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "SSH port " + c.port() + " is outside " + Vm.MIN_SSH_PORT + "-" + Vm.MAX_SSH_PORT);
    }
    if (vm.sshPort() == c.port()) {
      return ok(s);
    }
    if (vm.hasSshPort()) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " has SSH port " + vm.sshPort()
          + " already: a VM keeps its port for life");
    }
    if (s.vmBySshPort(c.port()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "SSH port " + c.port() + " is taken", Result.Reason.PORT_TAKEN);
    }
    return ok(s.withVm(vm.withSshPort(c.port())));
  }

  private static Vm living(ClusterState s, String vmId) {
    return s.vm(vmId).filter(vm -> vm.desired() != DesiredPower.DESTROYED).orElse(null);
  }

  private static Applied notLiving(ClusterState s, String vmId) {
    return s.vm(vmId).map(vm -> reject(s, ErrorCode.FAILED_PRECONDITION, "VM " + quote(vm.name()) + " is being destroyed"))
        .orElseGet(() -> reject(s, ErrorCode.NOT_FOUND, "no VM with id " + quote(vmId)));
  }

  static String invalidName(String name) {
    return "invalid route name " + quote(name) + ": expected a DNS label, 1-63 characters of a-z, 0-9 and '-', starting and ending"
        + " with a letter or digit";
  }

  private static String badPort(int port) {
    return Proxy.validPort(port) ? null : "port " + port + " is not a TCP/UDP port: expected 1 to 65535";
  }

  private static String noRoute(Vm vm, String name) {
    return "VM " + quote(vm.name()) + " has no route named " + quote(name) + " (see: proxy list --vm=" + vm.name() + ")";
  }
}
