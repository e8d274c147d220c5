package dev.boxd.verbs;

import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;

/** pause, resume, reboot, stop, start, destroy: a VM's power and its end. */
final class PowerVerbs {
  private PowerVerbs() {}

  private static Syntax oneVm(String name, List<String> aliases, String summary, List<Flag> flags, String description) {
    return new Syntax(name, aliases, summary, List.of("NAME"), List.of(), false, flags, description);
  }

  static Verb pause() {
    return new Verb(oneVm("pause", List.of(), "Freeze a VM in RAM (status standby)", List.of(Syntax.JSON),
        "JSON: {\"name\",\"status\",\"suspend_us\"}."), call -> {
          String vm = call.vm(0);
          long us = call.ops().pause(vm);
          if (call.json()) {
            call.printJson(Json.object("name", vm, "status", "standby", "suspend_us", us));
          } else {
            call.print("paused " + vm + " in " + Text.micros(us) + "\n");
          }
          return 0;
        });
  }

  static Verb resume() {
    return new Verb(oneVm("resume", List.of(), "Wake a paused VM", List.of(Syntax.JSON),
        "JSON: {\"name\",\"status\",\"resume_us\"}."), call -> {
          String vm = call.vm(0);
          long us = call.ops().resume(vm);
          if (call.json()) {
            call.printJson(Json.object("name", vm, "status", "running", "resume_us", us));
          } else {
            call.print("resumed " + vm + " in " + Text.micros(us) + "\n");
          }
          return 0;
        });
  }

  static Verb hibernate() {
    return power("hibernate", "hibernated", "Save a VM's memory to disk and stop its VMM (woken like standby)", Operations::hibernate);
  }

  static Verb autoSuspend() {
    var syntax = new Syntax("auto-suspend", List.of(), "Set how long a VM may be idle before it goes to standby", List.of("NAME", "SECS"),
        List.of(), false, List.of(Syntax.JSON),
        """
        SECS without inbound network traffic (TCP, UDP, any packet to the VM) puts it in standby; 0 turns
        it off. It watches the network, not the CPU: turn it off for long CPU-only jobs. Any inbound
        packet, exec or cp wakes the VM. JSON: the VM object.""");
    return new Verb(syntax, call -> {
      int seconds = Values.autoSuspend("SECS", call.args().positionals().get(1));
      return setAutoSuspend(call, call.vm(0), seconds);
    });
  }

  /** Sets and shows a VM's auto-suspend (auto-suspend, machine config set). */
  static int setAutoSuspend(Call call, String vm, int seconds) throws IOException {
    var view = call.ops().setAutoSuspend(vm, seconds);
    if (call.json()) {
      call.printJson(Json.vm(view));
    } else {
      call.print(Text.safe(view.name()) + ": auto-suspend " + Text.autoSuspend(view.autoSuspendSecs()) + "\n");
    }
    return 0;
  }

  static Verb reboot() {
    return power("reboot", "rebooted", "Cold restart a VM: memory is lost, the disk is kept", Operations::reboot);
  }

  static Verb stop() {
    return power("stop", "stopped", "Power a VM off, keeping its disk", Operations::stop);
  }

  static Verb start() {
    return power("start", "started", "Boot a stopped VM from its disk", Operations::start);
  }

  private static Verb power(String name, String done, String summary,
      BiFunction<Operations, String, Operations.VmView> action) {
    return new Verb(oneVm(name, List.of(), summary, List.of(Syntax.JSON), "JSON: the VM object."), call -> {
      var view = action.apply(call.ops(), call.vm(0));
      if (call.json()) {
        call.printJson(Json.vm(view));
      } else {
        call.print(done + " " + Text.safe(view.name()) + ": " + Text.safe(view.status()) + "\n");
      }
      return 0;
    });
  }

  static Verb destroy() {
    var syntax = oneVm("destroy", List.of("rm"), "Delete a VM and its disk",
        List.of(new Flag("yes", "y", null, false, "do not ask for confirmation"), Syntax.JSON),
        "On a terminal it asks first, unless -y. JSON: {\"name\",\"destroyed\"}.");
    return new Verb(syntax, PowerVerbs::destroy);
  }

  private static int destroy(Call call) throws IOException {
    String vm = call.vm(0);
    if (call.terminal().tty().isPresent() && !call.args().has("yes")) {
      call.ops().info(vm); // NOT_FOUND before the question, not after it
      if (!confirmed(call, vm)) {
        return 1;
      }
    }
    return destroy(call, vm);
  }

  /** Asks on the terminal whether to destroy the VM; says so when the answer is no. */
  static boolean confirmed(Call call, String vm) throws IOException {
    String answer = call.terminal().readLine("Destroy VM \"" + vm + "\"? [y/N] ").orElse("").strip().toLowerCase(Locale.ROOT);
    if (!answer.equals("y") && !answer.equals("yes")) {
      call.note("not destroyed: " + vm + "\n");
      return false;
    }
    return true;
  }

  /** Destroys the VM and shows it (destroy, machine remove). */
  static int destroy(Call call, String vm) throws IOException {
    call.ops().destroy(vm);
    if (call.json()) {
      call.printJson(Json.object("name", vm, "destroyed", true));
    } else {
      call.print("destroyed " + vm + "\n");
    }
    return 0;
  }
}
