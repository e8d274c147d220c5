package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code machine VERB …}: the noun form of the VM verbs that existing laptop clients drive
 * (SPEC §12), beside the short verbs. Most sub-verbs are the short verb under a second name;
 * {@code new}, {@code list} and {@code get} print the JSON those clients parse
 * ({@link MachineJson}), {@code fork} and {@code new} take names as positionals, {@code remove}
 * wants {@code --confirm} where it cannot ask, and a VM that does not exist is reported in SPEC
 * §12's words ({@link VmNotFound}).
 */
final class MachineVerbs {
  static final String NOUN = "machine";
  /** The settings of {@code machine config set}. */
  static final String AUTO_SUSPEND_KEY = "auto-suspend.timeout";

  private MachineVerbs() {}

  static Verb machine() {
    List<Verb> subs = List.of(create(), list(), get(), fork(), reused(ExecVerbs.exec(), VmNotFound.positionals(0)),
        reused(CopyVerb.copy(), MachineVerbs::copyVms), reused(PowerVerbs.stop()), reused(PowerVerbs.start()),
        reused(PowerVerbs.reboot()), reused(PowerVerbs.pause()), reused(PowerVerbs.resume()), reused(PowerVerbs.hibernate()), remove(),
        config());
    int width = subs.stream().mapToInt(v -> v.syntax().usage().length()).max().orElse(0);
    String verbs = subs.stream().map(v -> Syntax.pad(v.syntax().usage(), width) + "  " + v.syntax().summary())
        .collect(Collectors.joining("\n"));
    var syntax = new Syntax(NOUN, List.of(), "The VM verbs in noun form: machine new, list, get, exec, remove and more", List.of(),
        List.of("VERB"), false, List.of(Syntax.JSON),
        verbs + "\n\n" + """
            A VM is named by its name or its id. One that does not exist fails with: error: VM 'ARG' not found.
            help machine VERB, or machine VERB --help, shows one verb's flags.""");
    return new Verb(syntax, call -> {
      if (call.args().positional(0).isPresent()) {
        throw BoxdException.invalid("flags go after the machine verb: expected machine VERB [FLAGS], e.g. machine list --json");
      }
      throw BoxdException.invalid("missing machine verb: expected one of "
          + subs.stream().map(v -> v.syntax().name().substring(NOUN.length() + 1)).collect(Collectors.joining(", "))
          + " (see: help machine)");
    }, subs);
  }

  /**
   * A short verb as {@code machine VERB}, its VM arguments reported in SPEC §12's words when
   * missing, and called VM in its usage as SPEC §12 writes them.
   */
  private static Verb reused(Verb verb, Function<Args, List<String>> vms) {
    Syntax syntax = verb.syntax();
    List<String> required = syntax.required().stream().map(p -> p.equals("NAME") ? "VM" : p).toList();
    return new Verb(syntax.renamed(NOUN + " " + syntax.name(), required), VmNotFound.mapping(vms, verb.action()));
  }

  private static Verb reused(Verb oneVm) {
    return reused(oneVm, VmNotFound.positionals(0));
  }

  // cp's VMs are the NAME of its NAME:PATH sides.
  private static List<String> copyVms(Args args) {
    return args.positionals().stream().flatMap(side -> CopyVerb.vmPart(side).stream()).toList();
  }

  static Verb create() {
    Syntax shortNew = VmVerbs.create().syntax();
    var syntax = new Syntax(NOUN + " new", List.of(), shortNew.summary(), List.of(), List.of("NAME"), false,
        shortNew.flags().stream().filter(f -> !f.name().equals("name") && f != Syntax.HELP).toList(),
        """
        NAME is a DNS label (default: generated). JSON: {"name","id","url","source","boot"}, all strings
        (boot like "161ms", source the image).""");
    return new Verb(syntax, call -> {
      var vm = call.ops().create(VmVerbs.newRequest(call.args(), call.args().positional(0)));
      if (call.json()) {
        call.printJson(MachineJson.created(vm));
      } else {
        call.print(Text.vm(vm));
      }
      return 0;
    });
  }

  static Verb list() {
    var syntax = new Syntax(NOUN + " list", List.of("ls"), "List your VMs", List.of(), List.of(), false, List.of(Syntax.JSON),
        "JSON: an array of {\"name\",\"status\",\"url\",\"source\",\"sharing\"} ([] without VMs).");
    return new Verb(syntax, call -> {
      var vms = call.ops().list();
      if (call.json()) {
        call.printJson(vms.stream().map(MachineJson::listed).toList());
      } else {
        VmVerbs.printTable(call, vms);
      }
      return 0;
    });
  }

  static Verb get() {
    var syntax = new Syntax(NOUN + " get", List.of(), "Show one VM; fails if it does not exist", List.of("VM"), List.of(), false,
        List.of(Syntax.JSON),
        """
        VM is a name or an id. JSON: {"name","id","status","url","ssh","public_ip","domains","source",
        "auto_suspend","auto_hibernate","sharing","networks","isolated"}, each a string or null.""");
    return new Verb(syntax, VmNotFound.mapping(VmNotFound.positionals(0), call -> {
      var view = call.ops().info(call.vm(0));
      if (call.json()) {
        call.printJson(MachineJson.detail(view, MachineJson.domains(call.ops(), view)));
      } else {
        call.print(Text.vm(view));
      }
      return 0;
    }));
  }

  static Verb fork() {
    var syntax = new Syntax(NOUN + " fork", List.of(), "Copy a running VM: memory, disk and processes", List.of("SRC"),
        List.of("NAME"), false, List.of(VmVerbs.AUTO_SUSPEND, Syntax.JSON),
        "NAME is the copy's name (default: SRC-fork). JSON: as fork's.");
    return new Verb(syntax, VmNotFound.mapping(VmNotFound.positionals(0),
        call -> VmVerbs.fork(call, call.vm(0), call.args().positional(1))));
  }

  static Verb remove() {
    var syntax = new Syntax(NOUN + " remove", List.of("rm"), "Delete a VM and its disk", List.of("VM"), List.of(), false,
        List.of(Flag.bool("confirm", "delete without asking"), new Flag("yes", "y", null, false, "the same as --confirm"), Syntax.JSON),
        "Without --confirm (or -y) it asks on a terminal, and refuses where there is none. JSON: {\"name\",\"destroyed\"}.");
    return new Verb(syntax, VmNotFound.mapping(VmNotFound.positionals(0), call -> {
      String vm = call.vm(0);
      if (!call.args().has("confirm") && !call.args().has("yes")) {
        call.ops().info(vm); // NOT_FOUND before the question or the refusal
        if (call.terminal().tty().isEmpty()) {
          throw BoxdException.invalid("missing --confirm: machine remove deletes VM " + Names.quote(vm)
              + " and its disk, and there is no terminal to ask on; add --confirm (or -y)");
        }
        if (!PowerVerbs.confirmed(call, vm)) {
          return 1;
        }
      }
      return PowerVerbs.destroy(call, vm);
    }));
  }

  static Verb config() {
    var syntax = new Syntax(NOUN + " config", List.of(), "Change a VM's settings", List.of("ACTION", "VM", "KEY", "VALUE"), List.of(),
        false, List.of(Syntax.JSON),
        """
        machine config set VM auto-suspend.timeout SECS   standby after SECS without inbound traffic; 0 = off
        JSON: the VM object, as auto-suspend prints it.""");
    return new Verb(syntax, VmNotFound.mapping(VmNotFound.positionals(1), call -> {
      List<String> words = call.args().positionals();
      if (!words.get(0).equals("set")) {
        throw BoxdException.invalid("unknown machine config action " + Names.quote(words.get(0)) + ": expected set");
      }
      if (!words.get(2).equals(AUTO_SUSPEND_KEY)) {
        throw BoxdException.invalid("unknown setting " + Names.quote(words.get(2)) + ": expected " + AUTO_SUSPEND_KEY);
      }
      int seconds = Values.autoSuspend(AUTO_SUSPEND_KEY, words.get(3));
      return PowerVerbs.setAutoSuspend(call, call.vm(1), seconds);
    }));
  }
}
