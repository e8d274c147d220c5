package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SPEC §12: a VM that does not exist is {@code error: VM 'ARG' not found} on every machine verb, and only such a VM. */
class MachineNotFoundTest {
  private static final int NOT_FOUND = ErrorCode.NOT_FOUND.exitCode();

  private final MachineOperations ops = new MachineOperations().with("app", "running");

  /** Each machine verb with ARG as the VM it acts on. */
  private static List<String[]> everyVerb(String arg) {
    return List.of(
        new String[] {"machine", "get", arg},
        new String[] {"machine", "fork", arg, "copy"},
        new String[] {"machine", "exec", arg, "--", "true"},
        new String[] {"machine", "cp", "-", arg + ":notes"},
        new String[] {"machine", "cp", arg + ":notes", "-"},
        new String[] {"machine", "cp", "app:notes", arg + ":notes"},
        new String[] {"machine", "cp", arg + ":notes", "app:notes"},
        new String[] {"machine", "stop", arg},
        new String[] {"machine", "start", arg},
        new String[] {"machine", "reboot", arg},
        new String[] {"machine", "pause", arg},
        new String[] {"machine", "resume", arg},
        new String[] {"machine", "hibernate", arg},
        new String[] {"machine", "remove", arg, "--confirm"},
        new String[] {"machine", "remove", arg, "-y"},
        new String[] {"machine", "remove", arg},
        new String[] {"machine", "config", "set", arg, "auto-suspend.timeout", "60"});
  }

  @Test
  void aMissingNameOrIdIsReportedAsTyped() {
    for (String arg : new String[] {"ghost", "0123456789abcdef", "id-ghost", "Not_A_Name"}) {
      for (String[] argv : everyVerb(arg)) {
        String what = String.join(" ", argv);
        var r = Run.of(ops, argv);
        assertThat(r.exit).as(what).isEqualTo(NOT_FOUND);
        assertThat(r.err).as(what).isEqualTo("error: VM '" + arg + "' not found\n");
        assertThat(r.out).as(what).isEmpty();

        if (argv[argv.length - 1].equals("-")) {
          continue; // cp to stdout refuses --json before it looks for the VM
        }
        var json = Run.of(ops, withJson(argv));
        assertThat(json.exit).as(what).isEqualTo(NOT_FOUND);
        assertThat(json.err).as(what).isEmpty();
        assertThat(json.out).as(what).isEqualTo("{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"VM '" + arg + "' not found\"}}\n");
      }
    }
    assertThat(ops.vms.keySet()).containsExactly("app");
    assertThat(ops.calls).as("a word that is no VM name goes nowhere").doesNotContain("destroy Not_A_Name");
  }

  @Test
  void otherNotFoundsKeepTheirOwnWords() {
    ops.createFails = BoxdException.notFound("no snapshot named \"gone\"");
    var r = Run.of(ops, "machine", "new", "web", "--from-snapshot", "gone");
    assertThat(r.exit).isEqualTo(NOT_FOUND);
    assertThat(r.err).isEqualTo("error: no snapshot named \"gone\"\n");

    var missingFile = new MachineOperations() {
      @Override
      protected long send(String vm, String path, java.io.OutputStream sink) {
        throw BoxdException.notFound("no such file or directory: \"" + path + "\"");
      }
    }.with("app", "running");
    r = Run.of(missingFile, "machine", "cp", "app:/nope", "-");
    assertThat(r.exit).isEqualTo(NOT_FOUND);
    assertThat(r.err).isEqualTo("error: no such file or directory: \"/nope\"\n");

    // the short verbs keep the server's wording
    assertThat(Run.of(ops, "info", "ghost").err).isEqualTo("error: no VM named \"ghost\"\n");
    assertThat(Run.of(ops, "stop", "ghost").err).isEqualTo("error: no VM named \"ghost\"\n");
  }

  @Test
  void aFailedSecondLookLeavesTheOperationsOwnError() {
    var flaky = new MachineOperations() {
      @Override
      public VmView info(String vm) {
        throw new BoxdException(ErrorCode.UNAVAILABLE, "the control plane is not answering");
      }

      @Override
      public long pause(String vm) {
        throw BoxdException.notFound("no VM named \"" + vm + "\"");
      }
    }.with("app", "running");
    var r = Run.of(flaky, "machine", "pause", "app");
    assertThat(r.exit).isEqualTo(NOT_FOUND);
    assertThat(r.err).isEqualTo("error: no VM named \"app\"\n");
  }

  private static String[] withJson(String[] argv) {
    var words = new ArrayList<>(List.of(argv));
    int dashes = words.indexOf("--");
    words.add(dashes < 0 ? words.size() : dashes, "--json");
    return words.toArray(String[]::new);
  }
}
