package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.verbs.Operations.ExposeView;
import dev.boxd.verbs.Operations.ProxyView;
import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** proxy and expose: how a VM is reached from outside, by HTTPS routes and raw TCP/UDP forwards. */
final class EdgeVerbs {
  private EdgeVerbs() {}

  private static final String DEFAULT_ROUTE = "default";
  private static final Flag VM = Flag.value("vm", "NAME", "the VM (inside a VM: that VM by default)");

  static Verb proxy() {
    var syntax = new Syntax("proxy", List.of(), "HTTPS routes into your VMs: NAME.<zone> and SUB.NAME.<zone>", List.of("ACTION"),
        List.of("SUB"), false,
        List.of(VM, Flag.value("port", "N|auto", "the VM port the route goes to; auto: the one the guest listens on"),
            Flag.bool("all", "list the routes of every VM, also inside a VM"), Syntax.JSON),
        """
        proxy list [--vm=NAME] [--all]          routes (JSON: an array of {"name","vm","domain","port"})
        proxy new SUB --port=N [--vm=NAME]      route SUB.NAME.<zone> to port N of the VM
        proxy set-port [SUB] --port=N|auto      move a route; without SUB the default one (NAME.<zone>, port 8000 at first)
        proxy delete SUB [--vm=NAME]            remove a route (remove, rm too)
        Every VM has the route "default": https://NAME.<zone> to its port 8000. Over SSH, --vm is needed to change
        routes; inside a VM it defaults to that VM. SUB is a DNS label.""");
    return new Verb(syntax, EdgeVerbs::proxy);
  }

  private static int proxy(Call call) throws IOException {
    String action = call.args().positionals().getFirst();
    Optional<String> sub = call.args().positional(1);
    if (!action.equals("list") && !action.equals("ls") && call.args().has("all")) {
      throw BoxdException.invalid("--all goes with proxy list only: a route is changed on one VM (--vm=NAME)");
    }
    switch (action) {
      case "list", "ls" -> {
        refuse(call, sub, "proxy list takes no SUB");
        refuse(call, call.args().value("port"), "proxy list takes no --port");
        Optional<String> vm = call.args().value("vm").map(Values::vmRef);
        if (vm.isPresent() && call.args().has("all")) {
          throw BoxdException.invalid("--vm and --all exclude each other: one VM's routes, or every VM's");
        }
        if (vm.isEmpty() && !call.args().has("all")) {
          vm = call.ops().currentVm();
        }
        var routes = call.ops().proxies(vm);
        if (call.json()) {
          call.printJson(routes.stream().map(Json::proxy).toList());
        } else {
          call.print(Text.table(List.of("VM", "NAME", "DOMAIN", "PORT"),
              routes.stream().map(p -> List.of(p.vm(), p.name(), p.domain(), Integer.toString(p.port()))).toList()));
        }
      }
      case "new", "add", "create" -> {
        String name = Values.routeName(sub.orElseThrow(() -> BoxdException.invalid("missing SUB: expected proxy new SUB --port=N")));
        if (name.equals(DEFAULT_ROUTE)) {
          throw BoxdException.invalid("every VM has the route \"default\" already: move it with proxy set-port --port=N");
        }
        String port = call.args().value("port").orElseThrow(() -> BoxdException.invalid("missing --port=N: the VM port SUB goes to"));
        var added = call.ops().addProxy(vmOf(call), name, Values.port("--port", port));
        show(call, added, "added");
      }
      case "set-port" -> {
        String name = sub.map(Values::routeName).orElse(DEFAULT_ROUTE);
        String port = call.args().value("port")
            .orElseThrow(() -> BoxdException.invalid("missing --port=N|auto: the VM port the route goes to"));
        OptionalInt chosen = port.equals("auto") ? OptionalInt.empty() : OptionalInt.of(portOrAuto(port));
        show(call, call.ops().setProxyPort(vmOf(call), name, chosen), "moved");
      }
      case "delete", "remove", "rm" -> {
        String name = Values.routeName(sub.orElseThrow(() -> BoxdException.invalid("missing SUB: expected proxy delete SUB")));
        refuse(call, call.args().value("port"), "proxy delete takes no --port");
        String vm = vmOf(call);
        call.ops().removeProxy(vm, name);
        if (call.json()) {
          call.printJson(Json.object("name", name, "vm", vm, "removed", true));
        } else {
          call.print("removed route " + name + " of " + Text.safe(vm) + "\n");
        }
      }
      default -> throw BoxdException.invalid("unknown proxy action " + Names.quote(action) + ": expected list, new, set-port or delete");
    }
    return 0;
  }

  private static int portOrAuto(String value) {
    try {
      return Values.port("--port", value);
    } catch (BoxdException e) {
      throw BoxdException.invalid(e.getMessage() + ", or auto");
    }
  }

  // Over SSH nothing says which VM a route is for; inside a VM the VM itself does.
  private static String vmOf(Call call) {
    return call.args().value("vm").map(Values::vmRef).or(() -> call.ops().currentVm())
        .orElseThrow(() -> BoxdException.invalid("missing --vm=NAME: say which VM the route belongs to"));
  }

  private static void show(Call call, ProxyView route, String what) throws IOException {
    if (call.json()) {
      call.printJson(Json.proxy(route));
    } else {
      call.print(what + " route " + Text.safe(route.name()) + ": https://" + Text.safe(route.domain()) + " -> " + Text.safe(route.vm())
          + " port " + route.port() + "\n");
    }
  }

  private static void refuse(Call call, Optional<String> given, String message) {
    if (given.isPresent()) {
      throw BoxdException.invalid(message + " (see: help " + call.syntax().name() + ")");
    }
  }

  static Verb expose() {
    var syntax = new Syntax("expose", List.of(), "Forward a public TCP or UDP port to a port of a VM", List.of(), List.of("NAME", "PORT"),
        false,
        List.of(Flag.bool("tcp", "TCP (the default)"), Flag.bool("udp", "UDP"), Flag.bool("remove", "stop forwarding PORT"),
            Flag.bool("list", "list the forwards (of NAME, or of every VM)"), Syntax.JSON),
        """
        expose NAME PORT [--udp]       NAME.<zone>:PUBLIC (a port from 40000 to 60000) forwards to PORT of the VM
        expose NAME PORT --remove      stop it
        expose [NAME] --list           the forwards
        At most 3 per VM; exposing a port again keeps its public port.
        JSON: {"vm_id","vm_name","dns","host","public_port","vm_port","protocol"} (--list: an array of them).""");
    return new Verb(syntax, EdgeVerbs::expose);
  }

  private static int expose(Call call) throws IOException {
    var args = call.args();
    if (args.has("tcp") && args.has("udp")) {
      throw BoxdException.invalid("--tcp and --udp exclude each other: expose one protocol at a time");
    }
    String protocol = args.has("udp") ? "udp" : "tcp";
    Optional<String> vm = args.positional(0).map(Values::vmRef);
    if (args.has("list")) {
      if (args.has("remove") || args.positional(1).isPresent()) {
        throw BoxdException.invalid("expose --list takes at most NAME: expected expose [NAME] --list");
      }
      var all = call.ops().exposures(vm);
      if (call.json()) {
        call.printJson(all.stream().map(Json::exposure).toList());
      } else {
        call.print(Text.table(List.of("VM", "PROTOCOL", "PORT", "PUBLIC"),
            all.stream().map(e -> List.of(e.vm(), e.protocol(), Integer.toString(e.vmPort()), e.dns() + ":" + e.publicPort())).toList()));
      }
      return 0;
    }
    String name = vm.orElseThrow(() -> BoxdException.invalid("missing NAME: expected " + call.syntax().usage()));
    int port = Values.port("PORT", args.positional(1)
        .orElseThrow(() -> BoxdException.invalid("missing PORT: expected " + call.syntax().usage())));
    if (args.has("remove")) {
      call.ops().unexpose(name, protocol, port);
      if (call.json()) {
        call.printJson(Json.object("vm_name", name, "vm_port", port, "protocol", protocol, "removed", true));
      } else {
        call.print("stopped forwarding " + protocol + " port " + port + " of " + name + "\n");
      }
      return 0;
    }
    ExposeView exposed = call.ops().expose(name, protocol, port);
    if (call.json()) {
      call.printJson(Json.exposure(exposed));
    } else {
      call.print(exposed.protocol() + " " + Text.safe(exposed.dns()) + ":" + exposed.publicPort() + " (" + Text.safe(exposed.host()) + ":"
          + exposed.publicPort() + ") -> " + Text.safe(exposed.vm()) + " port " + exposed.vmPort() + "\n");
    }
    return 0;
  }
}
