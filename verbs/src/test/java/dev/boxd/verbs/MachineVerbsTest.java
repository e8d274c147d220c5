package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** machine VERB: SPEC §12's shapes, help, remove's confirmation and config set. */
class MachineVerbsTest {
  private static final int INVALID = ErrorCode.INVALID_ARGUMENT.exitCode();
  private static final Optional<Tty> TTY = Optional.of(Tty.fixed("xterm", new WindowSize(80, 24)));

  private final MachineOperations ops = new MachineOperations().with("app", "running");

  @Test
  void newTakesTheNameAsAPositionalAndPrintsOnlyStrings() {
    var r = Run.of(ops, "machine", "new", "web", "--isolated", "--vcpu", "2", "--memory=1G", "--auto-suspend-timeout", "60", "--json");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.lastNew).isEqualTo(new Operations.NewRequest(Optional.of("web"), Optional.of(2), Optional.of(1024), Optional.of(60),
        Optional.empty(), Optional.empty(), true));
    JsonNode json = r.json();
    assertThat(json.fieldNames()).toIterable().containsExactlyInAnyOrder("name", "id", "url", "source", "boot");
    json.properties().forEach(e -> assertThat(e.getValue().isTextual()).as(e.getKey()).isTrue());
    assertThat(json.get("name").asText()).isEqualTo("web");
    assertThat(json.get("id").asText()).isEqualTo("id-web");
    assertThat(json.get("url").asText()).isEqualTo("https://web.boxd.test");
    assertThat(json.get("source").asText()).isEqualTo("debian-12");
    assertThat(json.get("boot").asText()).isEqualTo("52ms");
    assertThat(r.out).endsWith("}\n").hasLineCount(1);

    assertThat(Run.of(ops, "machine", "new", "--from-snapshot", "snap").exit).isZero();
    assertThat(ops.lastNew.fromSnapshot()).contains("snap");
    assertThat(ops.lastNew.name()).isEmpty();
    assertThat(Run.of(ops, "machine", "new", "x", "--from-snapshot=snap", "--vcpu=2").err)
        .contains("--from-snapshot takes the snapshot's size");
    assertThat(Run.of(ops, "machine", "new", "Bad_Name").err).startsWith("error: invalid VM name \"Bad_Name\"");
    assertThat(Run.of(ops, "machine", "new", "x", "--name=y").err).contains("unknown flag \"--name=y\" for machine new");
  }

  @Test
  void listIsAnArrayOfTheFiveKeys() {
    assertThat(Run.of(new MachineOperations(), "machine", "list", "--json").out).isEqualTo("[]\n");
    ops.with("db", "stopped");
    JsonNode json = Run.of(ops, "machine", "list", "--json").json();
    assertThat(json.isArray()).isTrue();
    assertThat(json).hasSize(2);
    for (JsonNode vm : json) {
      assertThat(vm.fieldNames()).toIterable().containsExactlyInAnyOrder("name", "status", "url", "source", "sharing");
      assertThat(vm.get("sharing").asText()).isEqualTo("private");
    }
    assertThat(json.get(1).get("status").asText()).isEqualTo("stopped");
    assertThat(Run.of(ops, "machine", "ls").out).startsWith("NAME  STATUS ").contains("db    stopped");
  }

  @Test
  void getHasTheThirteenKeysEachAStringOrNull() {
    JsonNode json = Run.of(ops, "machine", "get", "app", "--json").json();
    assertThat(json.fieldNames()).toIterable().containsExactlyInAnyOrder("name", "id", "status", "url", "ssh", "public_ip", "domains",
        "source", "auto_suspend", "auto_hibernate", "sharing", "networks", "isolated");
    json.properties().forEach(e -> assertThat(e.getValue().isTextual() || e.getValue().isNull()).as(e.getKey()).isTrue());
    assertThat(json.get("id").asText()).isEqualTo("id-app");
    assertThat(json.get("status").asText()).isEqualTo("running");
    assertThat(json.get("isolated").asText()).isEqualTo("false");
    assertThat(json.get("auto_suspend").asText()).isEqualTo("30s");
    assertThat(json.get("auto_hibernate").isNull()).isTrue();
    assertThat(json.get("ssh").isNull()).isTrue();
    assertThat(json.get("public_ip").isNull()).isTrue();
    assertThat(json.get("networks").asText()).isEqualTo("10.0.0.2");
    assertThat(json.get("domains").asText()).isEqualTo("app.boxd.test");
    assertThat(json.get("source").asText()).isEqualTo("debian-12");

    ops.addProxy("app", "api", 3000);
    ops.vms.put("app", RecordingOperations.vm("app", "running").withSsh("ssh -p 10022 boxd@app.boxd.test").withIsolated(true));
    Run.of(ops, "machine", "config", "set", "app", "auto-suspend.timeout", "0");
    json = Run.of(ops, "machine", "get", "app", "--json").json();
    json.properties().forEach(e -> assertThat(e.getValue().isTextual() || e.getValue().isNull()).as(e.getKey()).isTrue());
    assertThat(json.get("domains").asText()).isEqualTo("app.boxd.test,api.app.boxd.test");
    assertThat(json.get("ssh").asText()).isEqualTo("ssh -p 10022 boxd@app.boxd.test");
    assertThat(json.get("isolated").asText()).isEqualTo("true");
    assertThat(json.get("auto_suspend").asText()).isEqualTo("off");

    assertThat(Run.of(ops, "machine", "get", "app").out).contains("name:").contains("id-app");
  }

  @Test
  void getFallsBackToTheUrlsHostWhereRoutesAreNotOffered() {
    var noRoutes = new MachineOperations() {
      @Override
      public List<ProxyView> proxies(Optional<String> vm) {
        throw BoxdException.precondition("HTTPS routes are not offered here");
      }
    }.with("app", "running");
    var r = Run.of(noRoutes, "machine", "get", "app", "--json");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.json().get("domains").asText()).isEqualTo("app.boxd.test");
  }

  @Test
  void theOtherVerbsPrintWhatTheirShortVerbsPrint() {
    assertThat(Run.of(ops, "machine", "pause", "app", "--json").out).isEqualTo(Run.of(ops, "pause", "app", "--json").out);
    assertThat(Run.of(ops, "machine", "resume", "app", "--json").out).isEqualTo(Run.of(ops, "resume", "app", "--json").out);
    assertThat(Run.of(ops, "machine", "reboot", "app", "--json").out).isEqualTo(Run.of(ops, "reboot", "app", "--json").out);
    assertThat(Run.of(ops, "machine", "stop", "app", "--json").json().get("status").asText()).isEqualTo("stopped");
    assertThat(Run.of(ops, "machine", "start", "app", "--json").json().get("status").asText()).isEqualTo("running");
    assertThat(Run.of(ops, "machine", "hibernate", "app", "--json").json().get("status").asText()).isEqualTo("hibernated");

    ops.execBody = (spec, in, out, err) -> {
      out.write("hi\n".getBytes());
      return 3;
    };
    var exec = Run.of(ops, "machine", "exec", "app", "--timeout", "5", "-e", "K=V", "--json", "--", "echo", "hi");
    assertThat(exec.exit).isEqualTo(3);
    assertThat(exec.out).isEqualTo(Run.of(ops, "exec", "app", "--timeout", "5", "-e", "K=V", "--json", "--", "echo", "hi").out);
    assertThat(exec.json().get("stdout").asText()).isEqualTo("hi\n");
    assertThat(ops.lastExec.env()).containsEntry("K", "V");

    ops.fileToDownload = "data".getBytes();
    var cp = Run.of(ops, "machine", "cp", "app:notes", "-");
    assertThat(cp.exit).as(cp.toString()).isZero();
    assertThat(cp.out).isEqualTo("data");

    var fork = Run.of(ops, "machine", "fork", "app", "copy", "--json");
    assertThat(fork.exit).as(fork.toString()).isZero();
    assertThat(fork.json().get("name").asText()).isEqualTo("copy");
    assertThat(fork.json().get("forked_from").asText()).isEqualTo("app");
    assertThat(ops.calls).contains("fork app copy");
    Run.of(ops, "machine", "fork", "app");
    assertThat(ops.calls).contains("fork app -");
  }

  @Test
  void everyVerbTakesTheVmsId() {
    assertThat(Run.of(ops, "machine", "get", "id-app", "--json").json().get("name").asText()).isEqualTo("app");
    assertThat(Run.of(ops, "machine", "pause", "id-app").exit).isZero();
    assertThat(Run.of(ops, "machine", "exec", "id-app", "--", "true").exit).isZero();
    assertThat(Run.of(ops, "machine", "config", "set", "id-app", "auto-suspend.timeout", "90").exit).isZero();
    assertThat(Run.of(ops, "machine", "remove", "id-app", "-y").exit).isZero();
    assertThat(ops.calls).contains("pause id-app", "exec id-app", "setAutoSuspend id-app 90", "destroy id-app");
  }

  @Test
  void removeWithoutConfirmationAsksOnATerminalAndRefusesWithoutOne() {
    var r = Run.of(ops, "machine", "remove", "app");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).isEqualTo("error: missing --confirm: machine remove deletes VM \"app\" and its disk, and there is no terminal to"
        + " ask on; add --confirm (or -y)\n");
    assertThat(Run.of(ops, "machine", "remove", "app", "--json").json().at("/error/code").asText()).isEqualTo("INVALID_ARGUMENT");
    assertThat(ops.calls).doesNotContain("destroy app");

    var no = Run.with(ops, new byte[0], TTY, List.of("n"), "machine", "remove", "app");
    assertThat(no.exit).isEqualTo(1);
    assertThat(no.prompts).containsExactly("Destroy VM \"app\"? [y/N] ");
    assertThat(ops.calls).doesNotContain("destroy app");

    var yes = Run.with(ops, new byte[0], TTY, List.of("y"), "machine", "rm", "app");
    assertThat(yes.exit).as(yes.toString()).isZero();
    assertThat(ops.calls).contains("destroy app");

    ops.with("app", "running");
    var confirmed = Run.with(ops, new byte[0], TTY, List.of(), "machine", "remove", "app", "--confirm", "--json");
    assertThat(confirmed.prompts).isEmpty();
    assertThat(confirmed.out).isEqualTo(Run.of(new MachineOperations().with("app", "running"), "destroy", "app", "-y", "--json").out);
  }

  @Test
  void configSetChangesTheAutoSuspendTimeoutOnly() {
    var r = Run.of(ops, "machine", "config", "set", "app", "auto-suspend.timeout", "120", "--json");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.json().get("auto_suspend_timeout").asInt()).isEqualTo(120);
    assertThat(Run.of(ops, "machine", "config", "set", "app", "auto-suspend.timeout", "0").out).isEqualTo("app: auto-suspend off\n");

    assertThat(Run.of(ops, "machine", "config", "get", "app", "auto-suspend.timeout", "1").err)
        .isEqualTo("error: unknown machine config action \"get\": expected set\n");
    assertThat(Run.of(ops, "machine", "config", "set", "app", "auto-hibernate.timeout", "1").err)
        .isEqualTo("error: unknown setting \"auto-hibernate.timeout\": expected auto-suspend.timeout\n");
    assertThat(Run.of(ops, "machine", "config", "set", "app", "auto-suspend.timeout", "-1").exit).isEqualTo(INVALID);
    for (String bad : new String[] {"ten", "30s", "99999999"}) {
      var v = Run.of(ops, "machine", "config", "set", "app", "auto-suspend.timeout", bad);
      assertThat(v.exit).as(bad).isEqualTo(INVALID);
      assertThat(v.err).as(bad).startsWith("error: invalid auto-suspend.timeout \"" + bad + "\": expected whole seconds");
    }
    assertThat(Run.of(ops, "machine", "config", "set", "app").err)
        .isEqualTo("error: missing KEY: expected machine config ACTION VM KEY VALUE\n");
    assertThat(ops.calls).containsExactly("setAutoSuspend app 120", "setAutoSuspend app 0");
  }

  @Test
  void execKeepsItsCommandAsSentInBothForms() {
    assertThat(Verbs.takesCommand(List.of("exec", "app", "--", "ls"))).isTrue();
    assertThat(Verbs.takesCommand(List.of("machine", "exec", "app", "--", "ls"))).isTrue();
    assertThat(Verbs.takesCommand(List.of("machine", "list"))).isFalse();
    assertThat(Verbs.takesCommand(List.of("machine"))).isFalse();
    assertThat(Verbs.takesCommand(List.of("connect", "app"))).isFalse();
    assertThat(Verbs.takesCommand(List.of())).isFalse();
  }

  @Test
  void theNounAloneOrAnUnknownVerbListsTheVerbs() {
    var r = Run.of(ops, "machine");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).isEqualTo("error: missing machine verb: expected one of new, list, get, fork, exec, cp, stop, start, reboot,"
        + " pause, resume, hibernate, remove, config (see: help machine)\n");
    r = Run.of(ops, "machine", "frob", "--json");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.json().at("/error/message").asText())
        .isEqualTo("unknown machine verb \"frob\": expected one of new, list, get, fork, exec, cp, stop, start, reboot, pause,"
            + " resume, hibernate, remove, config (see: help machine)");
    assertThat(Run.of(ops, "machine", "--json", "list").err).isEmpty();
    assertThat(Run.of(ops, "machine", "--json", "list").json().at("/error/message").asText()).startsWith("flags go after the machine verb");
    assertThat(Run.of(ops, "machine", "list", "--long").err)
        .isEqualTo("error: unknown flag \"--long\" for machine list: expected --json (see: help machine list)\n");
  }

  @Test
  void helpShowsTheNounAndEachOfItsVerbs() {
    var help = Run.of(ops, "machine", "--help");
    assertThat(help.exit).isZero();
    assertThat(help.out).startsWith("Usage: machine [FLAGS] [VERB]").contains("machine new [NAME]").contains("machine remove VM")
        .contains("machine config ACTION VM KEY VALUE").contains("machine exec VM [--] CMD...").contains("machine stop VM");

    var one = Run.of(ops, "machine", "new", "--help");
    assertThat(one.exit).isZero();
    assertThat(one.out).startsWith("Usage: machine new [FLAGS] [NAME]\n").contains("--isolated").contains("--from-snapshot=SNAPSHOT")
        .contains("--auto-suspend-timeout=SECS").doesNotContain("--name");
    assertThat(Run.of(ops, "help", "machine", "new").out).isEqualTo(one.out);
    assertThat(Run.of(ops, "help", "machine").out).isEqualTo(help.out);
    assertThat(Run.of(ops, "help", "machine", "frob").err).startsWith("error: unknown machine verb \"frob\"");
    assertThat(Run.of(ops, "help", "list", "new").err).startsWith("error: \"list\" has no verbs of its own");
    assertThat(Run.of(ops, "help", "machine", "--json").json().get("verbs")).hasSize(14);

    assertThat(Run.of(ops, "help").out).contains("  machine ").contains("machine VERB is the noun form");
    assertThat(Verbs.names()).contains("machine");
    assertThat(ops.calls).isEmpty();
  }
}
