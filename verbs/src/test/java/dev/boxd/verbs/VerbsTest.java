package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.EgressTraffic;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VerbsTest {
  private final RecordingOperations ops = new RecordingOperations().with("app", "running");

  private static final int INVALID = ErrorCode.INVALID_ARGUMENT.exitCode();

  @Test
  void unparsedWordsAskForJsonOnlyBeforeTheVmCommand() {
    assertThat(Verbs.asksForJson(List.of("list", "--json"))).isTrue();
    assertThat(Verbs.asksForJson(List.of("exec", "--json", "app", "--", "ls"))).isTrue();
    assertThat(Verbs.asksForJson(List.of("exec", "app", "--", "echo", "--json"))).isFalse();
    assertThat(Verbs.asksForJson(List.of("list", "--jsonish"))).isFalse();
    assertThat(Verbs.asksForJson(List.of())).isFalse();
  }

  @Test
  void newTakesFlagsInBothForms() {
    var r = Run.of(ops, "new", "--name=web", "--vcpu", "2", "--memory=1G");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.lastNew).isEqualTo(new Operations.NewRequest(Optional.of("web"), Optional.of(2), Optional.of(1024)));
    assertThat(r.out).contains("name:").contains("web").contains("running");

    Run.of(ops, "new", "--memory", "512M");
    assertThat(ops.lastNew.memoryMib()).contains(512);
    Run.of(ops, "new", "--memory", "2048");
    assertThat(ops.lastNew.memoryMib()).contains(2048);
    Run.of(ops, "new", "--memory", "2GiB");
    assertThat(ops.lastNew.memoryMib()).contains(2048);
    Run.of(ops, "new");
    assertThat(ops.lastNew).isEqualTo(new Operations.NewRequest(Optional.empty(), Optional.empty(), Optional.empty()));
  }

  @Test
  void newTakesAnImageByNameAndRefusesImpossibleNamesOrASnapshotBeside() {
    var r = Run.of(ops, "new", "--name=imp", "--image=deb-import");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.lastNew.image()).contains("deb-import");
    Run.of(ops, "new");
    assertThat(ops.lastNew.image()).isEmpty();

    assertThat(Run.of(ops, "new", "--image=../etc").err).startsWith("error: invalid image name \"../etc\": expected 1-40 characters");
    var both = Run.of(ops, "new", "--image=deb", "--from-snapshot=snap");
    assertThat(both.exit).isEqualTo(INVALID);
    assertThat(both.err).contains("--from-snapshot takes the snapshot's image: drop --image");
  }

  @Test
  void newJsonIsTheVmObject() {
    var json = Run.of(ops, "new", "--name", "web", "--json").json();
    assertThat(json.get("name").asText()).isEqualTo("web");
    assertThat(json.get("vm_id").asText()).isEqualTo("id-web");
    assertThat(json.get("status").asText()).isEqualTo("running");
    assertThat(json.get("boot_time_ms").asLong()).isEqualTo(52);
    assertThat(json.get("public_ip").isNull()).isTrue();
    assertThat(json.fieldNames()).toIterable().contains("ip", "image", "url", "vcpu", "memory_mib", "disk_gb", "created_at");
  }

  @Test
  void badValuesNameTheValueAndTheExpectation() {
    var r = Run.of(ops, "new", "--memory=lots");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).isEqualTo("error: invalid --memory \"lots\": expected a size in MiB like 1024, 512M or 2G\n");
    assertThat(r.out).isEmpty();

    assertThat(Run.of(ops, "new", "--memory=0").err).contains("expected between 1M and 1T");
    assertThat(Run.of(ops, "new", "--vcpu=0").err).contains("invalid --vcpu \"0\": expected a whole number from 1 to 256");
    assertThat(Run.of(ops, "new", "--vcpu=-1").err).contains("invalid --vcpu \"-1\"");
    assertThat(Run.of(ops, "new", "--name=Bad_Name").err)
        .startsWith("error: invalid VM name \"Bad_Name\": expected 1-63 characters");
    assertThat(Run.of(ops, "new", "--name").err).contains("--name needs a value: expected --name=NAME");
    assertThat(Run.of(ops, "new", "--name=a", "--name=b").err).contains("--name given twice");
    assertThat(Run.of(ops, "new", "--json=yes").err).contains("--json takes no value");
    assertThat(Run.of(ops, "new", "extra").err).contains("unexpected argument \"extra\": expected new");
    assertThat(ops.calls).doesNotContain("create");
  }

  @Test
  void unknownVerbsAndFlags() {
    var r = Run.of(ops, "frobnicate", "x");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).startsWith("error: unknown verb \"frobnicate\": expected one of new, list, info, exec, cp")
        .endsWith("(see: help)\n").hasLineCount(1);

    r = Run.of(ops, "list", "--long");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).isEqualTo("error: unknown flag \"--long\" for list: expected --json (see: help list)\n");

    r = Run.of(ops, "destroy", "app", "-x");
    assertThat(r.err).contains("unknown flag \"-x\" for destroy: expected -y, --json");
    assertThat(Run.of(ops, "destroy", "app", "-yy").err).contains("unknown flag \"-yy\"");

    r = Run.of(ops);
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).startsWith("error: missing verb: expected one of new, list");
  }

  @Test
  void errorsAreJsonOnStdoutWithJson() {
    var r = Run.of(ops, "list", "--json", "--long");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).isEmpty();
    assertThat(r.json().at("/error/code").asText()).isEqualTo("INVALID_ARGUMENT");
    assertThat(r.json().at("/error/message").asText()).contains("--long");

    r = Run.of(ops, "info", "ghost", "--json");
    assertThat(r.exit).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(r.json().at("/error/code").asText()).isEqualTo("NOT_FOUND");

    r = Run.of(ops, "frobnicate", "--json");
    assertThat(r.json().at("/error/code").asText()).isEqualTo("INVALID_ARGUMENT");
  }

  @Test
  void newIsolatedAsksForAnIsolatedVmThatInfoAndListShow() {
    var r = Run.of(ops, "new", "--name=box", "--isolated", "--json");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.lastNew.isolated()).isTrue();
    assertThat(r.json().get("isolated").asBoolean()).isTrue();
    assertThat(Run.of(ops, "info", "app", "--json").json().get("isolated").isBoolean()).isTrue();
    assertThat(Run.of(ops, "info", "app", "--json").json().get("isolated").asBoolean()).isFalse();
    assertThat(Run.of(ops, "info", "box").out).contains("isolated").contains("yes: no traffic with other VMs");
    assertThat(Run.of(ops, "ls").out).isEqualTo("""
        NAME  STATUS   IP        IMAGE      ISOLATED
        app   running  10.0.0.2  debian-12  no
        box   running  10.0.0.2  debian-12  yes
        """);
    Run.of(ops, "new", "--name=plain");
    assertThat(ops.lastNew.isolated()).isFalse();
  }

  @Test
  void listRendersATableAndAnArray() {
    ops.with("db", "stopped");
    var r = Run.of(ops, "ls");
    assertThat(r.exit).isZero();
    assertThat(r.out).isEqualTo("""
        NAME  STATUS   IP        IMAGE
        app   running  10.0.0.2  debian-12
        db    stopped  10.0.0.2  debian-12
        """);
    var json = Run.of(ops, "list", "--json").json();
    assertThat(json.isArray()).isTrue();
    assertThat(json.get(1).get("name").asText()).isEqualTo("db");
    assertThat(Run.of(new RecordingOperations(), "list", "--json").out).isEqualTo("[]\n");
  }

  @Test
  void infoTakesANameOrAnIdAndFailsForAMissingVm() {
    assertThat(Run.of(ops, "info", "app", "--json").json().get("name").asText()).isEqualTo("app");
    var r = Run.of(ops, "info", "ghost");
    assertThat(r.exit).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(r.err).isEqualTo("error: no VM named \"ghost\"\n");
    r = Run.of(ops, "info");
    assertThat(r.err).isEqualTo("error: missing NAME: expected info [NAME]\n");
    r = Run.of(ops, "info", "App");
    assertThat(r.exit).isEqualTo(INVALID);
    assertThat(r.err).contains("invalid VM name \"App\"");
    assertThat(ops.calls).containsExactly("info app", "info ghost");
  }

  @Test
  void infoShowsWhatTheVmExchangedWithTheInternetBesideTheUsualFields() {
    ops.vms.put("app", RecordingOperations.vm("app", "running").withEgress(new EgressTraffic(1234, 56789)));
    var json = Run.of(ops, "info", "app", "--json").json();
    assertThat(json.get("egress_bytes").asLong()).isEqualTo(1234);
    assertThat(json.get("ingress_bytes").asLong()).isEqualTo(56789);
    assertThat(json.get("vm_id").asText()).isEqualTo("id-app");
    assertThat(Run.of(ops, "info", "app").out).contains("internet:").contains("1234 bytes out, 56789 bytes in\n");

    ops.vms.put("app", RecordingOperations.vm("app", "running"));
    assertThat(Run.of(ops, "info", "app", "--json").json().has("egress_bytes")).as("not known: not shown").isFalse();
  }

  @Test
  void infoInsideAVmDefaultsToThatVm() {
    var inVm = new RecordingOperations() {
      @Override
      public Optional<String> currentVm() {
        return Optional.of("app");
      }
    }.with("app", "running");
    assertThat(Run.of(inVm, "info", "--json").json().get("name").asText()).isEqualTo("app");
  }

  @Test
  void execCommandWithOrWithoutDoubleDash() {
    Run.of(ops, "exec", "app", "--", "ls", "-la");
    assertThat(ops.lastExec.command()).isEqualTo("ls -la");
    Run.of(ops, "exec", "app", "ls", "-la", "--json");
    assertThat(ops.lastExec.command()).isEqualTo("ls -la --json");
    Run.of(ops, "exec", "app", "exit 7");
    assertThat(ops.lastExec.command()).isEqualTo("exit 7");
    Run.of(ops, "exec", "-e", "A=1", "--env=B=x=y", "-eC=", "--timeout", "5", "app", "--tty", "--", "--weird");
    assertThat(ops.lastExec.command()).isEqualTo("--weird");
    assertThat(ops.lastExec.env()).isEqualTo(Map.of("A", "1", "B", "x=y", "C", ""));
    assertThat(ops.lastExec.timeout()).contains(Duration.ofSeconds(5));
    assertThat(ops.lastExec.tty()).contains(ExecVerbs.DEFAULT_TTY);
    Run.of(ops, "exec", "--", "app", "pwd");
    assertThat(ops.lastExec.command()).isEqualTo("pwd");
  }

  @Test
  void execReturnsTheRemoteExitCodeAndKeepsStreamsApart() {
    ops.execBody = (spec, in, out, err) -> {
      out.write(in.readAllBytes());
      err.write("warn\n".getBytes(StandardCharsets.UTF_8));
      return 7;
    };
    var r = Run.with(ops, "hello".getBytes(StandardCharsets.UTF_8), Optional.empty(), List.of(), "exec", "app", "cat");
    assertThat(r.exit).isEqualTo(7);
    assertThat(r.out).isEqualTo("hello");
    assertThat(r.err).isEqualTo("warn\n");
  }

  @Test
  void execJsonCarriesOutputInOrderAndTheExitCode() {
    ops.execBody = (spec, in, out, err) -> {
      out.write("a".getBytes(StandardCharsets.UTF_8));
      err.write("b".getBytes(StandardCharsets.UTF_8));
      out.write("c".getBytes(StandardCharsets.UTF_8));
      return 124;
    };
    var r = Run.of(ops, "exec", "--json", "app", "--", "x");
    assertThat(r.exit).isEqualTo(124);
    var json = r.json();
    assertThat(json.get("output").asText()).isEqualTo("abc");
    assertThat(json.get("stdout").asText()).isEqualTo("ac");
    assertThat(json.get("stderr").asText()).isEqualTo("b");
    assertThat(json.get("exit_code").asInt()).isEqualTo(124);
    assertThat(r.err).isEmpty();
  }

  @Test
  void execRejectsBadInput() {
    assertThat(Run.of(ops, "exec", "app").err).isEqualTo("error: missing command: expected exec NAME [--] CMD...\n");
    assertThat(Run.of(ops, "exec").err).isEqualTo("error: missing NAME: expected exec NAME [--] CMD...\n");
    assertThat(Run.of(ops, "exec", "app", "--timeout=0", "ls").err).contains("invalid --timeout \"0\"");
    assertThat(Run.of(ops, "exec", "app", "--timeout=soon", "ls").err).contains("invalid --timeout \"soon\"");
    assertThat(Run.of(ops, "exec", "app", "-e", "1X=2", "ls").err).contains("invalid -e \"1X=2\": expected KEY=VALUE");
    assertThat(Run.of(ops, "exec", "app", "-e", "NOVALUE", "ls").err).contains("invalid -e \"NOVALUE\"");
    assertThat(Run.of(ops, "exec", "app", "echo", "a\0b").err).contains("the command contains a NUL");
    assertThat(Run.of(ops, "exec", "app", "--tty", "--json", "ls").json().at("/error/message").asText())
        .contains("--tty and --json cannot be combined");
    var r = Run.of(ops, "exec", "ghost", "ls");
    assertThat(r.exit).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(ops.calls).containsExactly("exec ghost");
  }

  @Test
  void execTtyAndConnectPassTheUsersTerminal() {
    var tty = Tty.fixed("xterm-256color", new WindowSize(120, 40));
    Run.with(ops, new byte[0], Optional.of(tty), List.of(), "exec", "--tty", "app", "top");
    assertThat(ops.lastExec.tty()).contains(tty);

    var r = Run.with(ops, new byte[0], Optional.of(tty), List.of(), "connect", "app");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.lastExec.command()).isEqualTo("exec bash -l");
    assertThat(ops.lastExec.tty()).contains(tty);
    Run.with(ops, new byte[0], Optional.of(tty), List.of(), "ssh", "app");
    assertThat(ops.calls).containsExactly("exec app", "exec app", "exec app");
  }

  @Test
  void connectRefusesWithoutATerminal() {
    var r = Run.of(ops, "connect", "app");
    assertThat(r.exit).isEqualTo(ErrorCode.FAILED_PRECONDITION.exitCode());
    assertThat(r.err).isEqualTo("error: connect needs a terminal and this session has none: use ssh -t, or exec app -- CMD\n");
    assertThat(ops.calls).isEmpty();
  }

  @Test
  void cpUploadsStdinAndDownloadsToStdout() {
    byte[] data = {0, 1, 2, (byte) 0xff};
    var r = Run.with(ops, data, Optional.empty(), List.of(), "cp", "-", "app:dir/f.bin");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(ops.uploaded).isEqualTo(data);
    assertThat(ops.uploadedMode).isEqualTo(0644);
    assertThat(ops.calls).containsExactly("upload app:dir/f.bin");

    r = Run.with(ops, data, Optional.empty(), List.of(), "cp", "--json", "-", "app:/tmp/x");
    assertThat(r.json().get("bytes").asLong()).isEqualTo(4);
    assertThat(r.json().get("destination").asText()).isEqualTo("app:/tmp/x");

    ops.fileToDownload = data;
    r = Run.of(ops, "cp", "app:/etc/hostname", "-");
    assertThat(r.outBytes).isEqualTo(data);
  }

  @Test
  void cpNeedsARemoteSide() {
    assertThat(Run.of(ops, "cp", "-", "-").err).contains("expected at least one side remote");
    assertThat(Run.of(ops, "cp", "./file", "app:b").err).contains("local path \"./file\": here cp copies from stdin or to stdout only");
    assertThat(Run.of(ops, "cp", "-", "app:").err).contains("missing path in \"app:\"");
    assertThat(Run.of(ops, "cp", "-", "Bad:x").err).contains("invalid VM name \"Bad\"");
    assertThat(Run.of(ops, "cp", "--json", "app:x", "-").json().at("/error/message").asText()).contains("--json with destination -");
    assertThat(Run.of(ops, "cp", "-").err).contains("missing DST: expected cp SRC DST");
    assertThat(ops.calls).isEmpty();
  }

  @Test
  void cpBetweenTwoVmsIsOneCopy() {
    var json = Run.of(ops, "cp", "-r", "app:results", "app:/srv/results", "--json").json();
    assertThat(ops.calls).containsExactly("copy app:results app:/srv/results");
    assertThat(json.get("destination").asText()).isEqualTo("app:/srv/results");
  }

  @Test
  void pauseAndResumeReportTimings() {
    var json = Run.of(ops, "pause", "app", "--json").json();
    assertThat(json.get("suspend_us").asLong()).isEqualTo(712);
    assertThat(json.get("status").asText()).isEqualTo("standby");
    assertThat(Run.of(ops, "resume", "app", "--json").json().get("resume_us").asLong()).isEqualTo(43);
    assertThat(Run.of(ops, "pause", "app").out).isEqualTo("paused app in 0.712 ms\n");
  }

  @Test
  void powerVerbsRenderTheVm() {
    assertThat(Run.of(ops, "stop", "app").out).isEqualTo("stopped app: stopped\n");
    assertThat(Run.of(ops, "start", "app", "--json").json().get("status").asText()).isEqualTo("running");
    assertThat(Run.of(ops, "reboot", "app").out).isEqualTo("rebooted app: running\n");
    assertThat(Run.of(ops, "reboot").err).isEqualTo("error: missing NAME: expected reboot NAME\n");
  }

  @Test
  void destroyAsksOnATerminalUnlessYes() {
    var tty = Optional.of(Tty.fixed("xterm", new WindowSize(80, 24)));
    var r = Run.with(ops, new byte[0], tty, List.of("n"), "destroy", "app");
    assertThat(r.prompts).containsExactly("Destroy VM \"app\"? [y/N] ");
    assertThat(r.exit).isEqualTo(1);
    assertThat(ops.vms).containsKey("app");

    r = Run.with(ops, new byte[0], tty, List.of(), "rm", "app");
    assertThat(r.exit).as("end of input answers no").isEqualTo(1);

    r = Run.with(ops, new byte[0], tty, List.of("y"), "destroy", "app");
    assertThat(r.exit).isZero();
    assertThat(r.out).isEqualTo("destroyed app\n");
    assertThat(ops.vms).doesNotContainKey("app");

    ops.with("app", "running");
    r = Run.with(ops, new byte[0], tty, List.of(), "destroy", "-y", "app", "--json");
    assertThat(r.prompts).isEmpty();
    assertThat(r.json().get("destroyed").asBoolean()).isTrue();

    ops.with("app", "running");
    r = Run.of(ops, "rm", "app");
    assertThat(r.exit).as("no terminal, no question").isZero();

    r = Run.with(ops, new byte[0], tty, List.of("y"), "destroy", "ghost");
    assertThat(r.prompts).as("a missing VM fails before the question").isEmpty();
    assertThat(r.exit).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
  }

  @Test
  void sshConfigPrintsOneHostPerVmAndTheGatewaysKey() {
    var r = Run.of(ops, "ssh-config");
    assertThat(r.exit).as(r.toString()).isZero();
    assertThat(r.out).isEqualTo("""
        # boxd: ssh into your VMs by the Host names below (append this to ~/.ssh/config).
        # They go through the boxd SSH gateway; its host key, for ~/.ssh/known_hosts:
        # boxd-vms.boxd.test ssh-ed25519 AAAAgateway

        Host app.boxd.test
          HostName 127.77.0.2
          Port 22
          User boxd
          HostKeyAlias boxd-vms.boxd.test
        """);
    var json = Run.of(ops, "ssh-config", "--json").json();
    assertThat(json.get("host_key").asText()).isEqualTo("ssh-ed25519 AAAAgateway");
    assertThat(json.get("hosts").get(0).get("host").asText()).isEqualTo("app.boxd.test");
    assertThat(json.get("hosts").get(0).get("port").asInt()).isEqualTo(22);
    var unsupported = Run.of(new RecordingOperations() {
      @Override
      public SshConfig sshConfig() {
        throw dev.boxd.core.BoxdException.precondition("direct SSH into VMs is not offered here");
      }
    }, "ssh-config");
    assertThat(unsupported.exit).isEqualTo(ErrorCode.FAILED_PRECONDITION.exitCode());
  }

  @Test
  void whoamiVersionAndHelp() {
    assertThat(Run.of(ops, "whoami").out).isEqualTo("user: u-1\nname: alice\nkeys:\n  SHA256:abc\n");
    assertThat(Run.of(ops, "whoami", "--json").json().get("keys").get(0).asText()).isEqualTo("SHA256:abc");
    assertThat(Run.of(ops, "version").out).startsWith("boxd ");
    assertThat(Run.of(ops, "version", "--json").json().get("version").asText()).isNotBlank();

    var help = Run.of(ops, "help");
    assertThat(help.exit).isZero();
    assertThat(help.out).contains("list, ls").contains("connect, ssh").contains("destroy, rm");
    for (String verb : Verbs.names()) {
      assertThat(help.out).contains("  " + verb);
    }
    assertThat(Run.of(ops, "help", "exec").out).startsWith("Usage: exec [FLAGS] NAME [--] CMD...\n")
        .contains("-e KEY=VAL, --env=KEY=VAL").contains("--timeout=SECS");
    assertThat(Run.of(ops, "exec", "--help").out).startsWith("Usage: exec [FLAGS] NAME [--] CMD...\n");
    assertThat(Run.of(ops, "ls", "-h").out).startsWith("Usage: list [FLAGS]\nAlso: ls\n");
    assertThat(Run.of(ops, "help", "nope").err).contains("unknown verb \"nope\"");
    assertThat(Run.of(ops, "help", "--json").json().get("verbs").size()).isEqualTo(Verbs.names().size());
    assertThat(Run.of(ops, "help", "cp", "--json").json().get("usage").asText()).isEqualTo("cp SRC DST");
    assertThat(Run.of(ops, "--help").out).isEqualTo(Verbs.overview());
  }

  @Test
  void hugeArgumentsAndGarbageGiveOneShortLine() {
    String huge = "a".repeat(100_000);
    for (var r : List.of(Run.of(ops, huge), Run.of(ops, "info", huge), Run.of(ops, "new", "--name=" + huge),
        Run.of(ops, "list", "--" + huge))) {
      assertThat(r.exit).isEqualTo(INVALID);
      assertThat(r.err).hasLineCount(1).startsWith("error: ");
      assertThat(r.err.length()).isLessThan(400);
    }
    String garbage = new String(new byte[] {(byte) 0xff, 0x1b, '[', '2', 'J', 0x07, (byte) 0xc2, (byte) 0x9b, 0, '\n', '\r'},
        StandardCharsets.UTF_8);
    for (var r : List.of(Run.of(ops, garbage), Run.of(ops, "info", garbage), Run.of(ops, "exec", garbage, "ls"))) {
      assertThat(r.exit).isEqualTo(INVALID);
      assertThat(r.err).hasLineCount(1).startsWith("error: ");
      assertThat(r.err.substring(0, r.err.length() - 1).chars()).noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f));
    }
    var json = Run.of(ops, "info", garbage, "--json");
    assertThat(json.json().at("/error/message").asText().chars()).noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f));
    assertThat(ops.calls).isEmpty();
  }

  @Test
  void unexpectedFailuresAreInternalWithoutDetails() {
    var broken = new RecordingOperations() {
      @Override
      public java.util.List<VmView> list() {
        throw new IllegalStateException("secret detail");
      }
    };
    var r = Run.of(broken, "list");
    assertThat(r.exit).isEqualTo(ErrorCode.INTERNAL.exitCode());
    assertThat(r.err).isEqualTo("error: internal error (IllegalStateException)\n");
  }
}
