package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations.ExecSpec;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** exec and connect: commands and shells in a VM. */
final class ExecVerbs {
  /** The terminal a --tty command gets when the user has none. */
  static final Tty DEFAULT_TTY = Tty.fixed("xterm", new WindowSize(80, 24));
  static final String LOGIN_SHELL = "exec bash -l";

  private ExecVerbs() {}

  static Verb exec() {
    var syntax = new Syntax("exec", List.of(), "Run a command in a VM as user boxd", List.of("NAME"), List.of(), true,
        List.of(new Flag("env", "e", "KEY=VAL", true, "set an environment variable"),
            Flag.value("timeout", "SECS", "kill the command after SECS seconds; exit code 124"),
            Flag.bool("tty", "give the command a terminal (stdout and stderr merge)"),
            Flag.bool("json", "print {\"output\",\"stdout\",\"stderr\",\"exit_code\"} when the command ends")),
        """
        CMD runs through a shell in /home/boxd. One word is a whole command line ('make && ./run');
        several are joined with spaces, quoting those with blanks or quotes in them. stdin streams to
        the command, stdout and stderr stay apart, and the exit code is the command's. Over SSH, the
        text after -- reaches the VM's shell exactly as sent (newlines too), as with ssh to a host.""");
    return new Verb(syntax, ExecVerbs::exec);
  }

  private static int exec(Call call) throws IOException {
    var args = call.args();
    String vm = call.vm(0);
    String command = Values.noNul("the command", ShellWords.command(args.command()));
    Map<String, String> env = Values.env(args.values("env"));
    var timeout = args.value("timeout").map(v -> Values.seconds("timeout", v));
    var term = call.terminal();
    if (args.has("tty")) {
      if (call.json()) {
        throw BoxdException.invalid("--tty and --json cannot be combined: a terminal merges stdout and stderr");
      }
      var tty = term.tty().orElse(DEFAULT_TTY);
      try (var raw = term.raw()) {
        return call.ops().exec(vm, new ExecSpec(command, env, timeout, Optional.of(tty)), raw.in(), raw.out(), raw.out());
      }
    }
    var spec = new ExecSpec(command, env, timeout, Optional.empty());
    if (!call.json()) {
      int code = call.ops().exec(vm, spec, term.in(), term.out(), term.err());
      term.out().flush();
      term.err().flush();
      return code;
    }
    var capture = new Capture();
    int code;
    try {
      code = call.ops().exec(vm, spec, term.in(), capture.stdout(), capture.stderr());
    } catch (RuntimeException e) {
      throw capture.overflowed() ? tooMuch() : e;
    }
    if (capture.overflowed()) {
      throw tooMuch();
    }
    call.printJson(Json.object("output", capture.output(), "stdout", capture.stdoutText(), "stderr", capture.stderrText(),
        "exit_code", code));
    return code;
  }

  private static BoxdException tooMuch() {
    return new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "the command printed more than "
        + (Capture.LIMIT >> 20) + " MiB: run it without --json to stream its output");
  }

  static Verb connect() {
    var syntax = new Syntax("connect", List.of("ssh"), "Open a login shell in a VM as user boxd", List.of("NAME"), List.of(),
        false, List.of(), "Needs a terminal (over SSH: ssh -t). Leave the shell with exit or Ctrl-D.");
    return new Verb(syntax, ExecVerbs::connect);
  }

  private static int connect(Call call) throws IOException {
    String vm = call.vm(0);
    var term = call.terminal();
    Tty tty = term.tty().orElseThrow(() -> BoxdException.precondition(
        "connect needs a terminal and this session has none: use ssh -t, or exec " + vm + " -- CMD"));
    try (var raw = term.raw()) {
      return call.ops().exec(vm, new ExecSpec(LOGIN_SHELL, Map.of(), Optional.empty(), Optional.of(tty)),
          raw.in(), raw.out(), raw.out());
    }
  }
}
