package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ImageNames;
import dev.boxd.core.Names;
import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** new, list, info: creating VMs and looking at them. */
final class VmVerbs {
  private VmVerbs() {}

  static final Flag AUTO_SUSPEND = Flag.value("auto-suspend-timeout", "SECS",
      "standby after SECS without inbound traffic; 0 = never (default 30)");

  static Verb create() {
    var syntax = new Syntax("new", List.of(), "Create and boot a VM; returns once it is running",
        List.of(), List.of(), false,
        List.of(Flag.value("name", "NAME", "the VM's name, a DNS label (default: generated)"),
            Flag.value("vcpu", "N", "virtual CPUs"),
            Flag.value("memory", "SIZE", "RAM: MiB (1024) or with a unit (512M, 2G)"),
            AUTO_SUSPEND,
            Flag.value("from-snapshot", "SNAPSHOT", "start from a snapshot (its size, memory, disk and processes)"),
            Flag.value("image", "NAME", "boot an image made with boxd image import (default: the standard image)"),
            Flag.bool("isolated", "no traffic to or from other VMs (yours too) and no boxd CLI inside; fixed for the VM's life"),
            Syntax.JSON),
        """
        An isolated VM still reaches the internet and its https:// URL and ssh still work; its forks are
        isolated too, and so is every VM started from a snapshot of it.""");
    return new Verb(syntax, VmVerbs::create);
  }

  private static int create(Call call) throws IOException {
    var vm = call.ops().create(newRequest(call.args(), call.args().value("name")));
    if (call.json()) {
      call.printJson(Json.vm(vm));
    } else {
      call.print(Text.vm(vm));
    }
    return 0;
  }

  /** What new (and machine new, whose NAME is a positional) asks for, checked. */
  static Operations.NewRequest newRequest(Args args, Optional<String> name) {
    var request = new Operations.NewRequest(
        name.map(n -> Names.requireValid("VM name", n)),
        args.value("vcpu").map(v -> Values.vcpus("vcpu", v)),
        args.value("memory").map(v -> Values.memoryMib("memory", v)),
        args.value("auto-suspend-timeout").map(v -> Values.autoSuspend("--auto-suspend-timeout", v)),
        args.value("from-snapshot").map(n -> Names.requireValid("snapshot name", n)),
        args.value("image").map(ImageNames::requireValid),
        args.has("isolated"));
    if (request.fromSnapshot().isPresent() && (request.vcpus().isPresent() || request.memoryMib().isPresent())) {
      throw BoxdException.invalid("--from-snapshot takes the snapshot's size: drop --vcpu and --memory");
    }
    if (request.fromSnapshot().isPresent() && request.image().isPresent()) {
      throw BoxdException.invalid("--from-snapshot takes the snapshot's image: drop --image");
    }
    return request;
  }

  static Verb fork() {
    var syntax = new Syntax("fork", List.of(), "Copy a running VM: memory, disk and processes", List.of(), List.of("SRC"), false,
        List.of(Flag.value("name", "NAME", "the copy's name (default: SRC-fork)"), AUTO_SUSPEND, Syntax.JSON),
        """
        The copy gets its own name, id, address, MAC, hostname, SSH host keys and URL; memory and disk
        are copy-on-write, and SRC pauses only briefly. Inside a VM, SRC defaults to that VM.
        JSON: {"name","vm_id","url","image","status","boot_time_ms","forked_from"} and the other VM fields.""");
    return new Verb(syntax, VmVerbs::fork);
  }

  private static int fork(Call call) throws IOException {
    Optional<String> named = call.args().positional(0).map(Values::vmRef);
    String source = named.or(() -> call.ops().currentVm())
        .orElseThrow(() -> BoxdException.invalid("missing SRC: expected " + call.syntax().usage()));
    return fork(call, source, call.args().value("name"));
  }

  /** Forks {@code source} into {@code name} and shows the copy (fork, machine fork). */
  static int fork(Call call, String source, Optional<String> name) throws IOException {
    var forked = call.ops().fork(source, name.map(n -> Names.requireValid("VM name", n)),
        call.args().value("auto-suspend-timeout").map(v -> Values.autoSuspend("--auto-suspend-timeout", v)));
    if (call.json()) {
      var document = Json.vm(forked.vm());
      document.put("forked_from", forked.forkedFrom());
      call.printJson(document);
    } else {
      call.print(Text.forked(forked));
    }
    return 0;
  }

  static Verb list() {
    var syntax = new Syntax("list", List.of("ls"), "List your VMs", List.of(), List.of(), false, List.of(Syntax.JSON),
        "Text: a table NAME STATUS IP IMAGE, and ISOLATED when some VM is. JSON: an array of VM objects.");
    return new Verb(syntax, VmVerbs::list);
  }

  private static int list(Call call) throws IOException {
    var vms = call.ops().list();
    if (call.json()) {
      call.printJson(Json.vms(vms));
    } else {
      printTable(call, vms);
    }
    return 0;
  }

  /** The text of list (and machine list). */
  static void printTable(Call call, List<Operations.VmView> vms) throws IOException {
    // the column only where it says something: the table of SPEC §3 stays as it is without isolated VMs
    if (vms.stream().anyMatch(Operations.VmView::isolated)) {
      call.print(Text.table(List.of("NAME", "STATUS", "IP", "IMAGE", "ISOLATED"),
          vms.stream().map(v -> List.of(nz(v.name()), nz(v.status()), nz(v.ip()), nz(v.image()), v.isolated() ? "yes" : "no"))
              .toList()));
    } else {
      call.print(Text.table(List.of("NAME", "STATUS", "IP", "IMAGE"),
          vms.stream().map(v -> List.of(nz(v.name()), nz(v.status()), nz(v.ip()), nz(v.image()))).toList()));
    }
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  static Verb info() {
    var syntax = new Syntax("info", List.of(), "Show one VM; fails if it does not exist", List.of(), List.of("NAME"), false,
        List.of(Syntax.JSON), "NAME is a VM name or id; inside a VM it defaults to that VM.");
    return new Verb(syntax, VmVerbs::info);
  }

  private static int info(Call call) throws IOException {
    Optional<String> named = call.args().positional(0).map(Values::vmRef);
    String vm = named.or(() -> call.ops().currentVm())
        .orElseThrow(() -> BoxdException.invalid("missing NAME: expected " + call.syntax().usage()));
    var view = call.ops().info(vm);
    if (call.json()) {
      call.printJson(Json.vm(view));
    } else {
      call.print(Text.vm(view));
    }
    return 0;
  }

  static Verb sshConfig() {
    var syntax = new Syntax("ssh-config", List.of(), "Print ~/.ssh/config entries for ssh NAME.<zone> into your VMs", List.of(),
        List.of(), false, List.of(Syntax.JSON),
        "One Host entry per VM: ssh NAME.<zone> then logs into the VM's own sshd as boxd (scp and sftp too).\n"
            + "Append the output to ~/.ssh/config, and the known_hosts line it names to ~/.ssh/known_hosts.\n"
            + "JSON: {\"host_key_alias\",\"host_key\",\"hosts\":[{\"host\",\"vm\",\"hostname\",\"port\",\"user\"}]}.");
    return new Verb(syntax, VmVerbs::sshConfig);
  }

  private static int sshConfig(Call call) throws IOException {
    var config = call.ops().sshConfig();
    if (call.json()) {
      call.printJson(Json.object("host_key_alias", config.hostKeyAlias(), "host_key", config.hostKey(), "hosts",
          config.hosts().stream().map(h -> Json.object("host", h.alias(), "vm", h.vm(), "hostname", h.hostName(), "port", h.port(),
              "user", h.user())).toList()));
      return 0;
    }
    var out = new StringBuilder();
    out.append("# boxd: ssh into your VMs by the Host names below (append this to ~/.ssh/config).\n");
    out.append("# They go through the boxd SSH gateway; its host key, for ~/.ssh/known_hosts:\n");
    out.append("# ").append(Text.safe(config.hostKeyAlias())).append(' ').append(Text.safe(config.hostKey())).append('\n');
    for (var host : config.hosts()) {
      out.append('\n')
          .append("Host ").append(Text.safe(host.alias())).append('\n')
          .append("  HostName ").append(Text.safe(host.hostName())).append('\n')
          .append("  Port ").append(host.port()).append('\n')
          .append("  User ").append(Text.safe(host.user())).append('\n')
          .append("  HostKeyAlias ").append(Text.safe(config.hostKeyAlias())).append('\n');
    }
    call.print(out.toString());
    return 0;
  }
}
