package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Terminal;
import dev.boxd.verbs.Verbs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Shell completion for bash and zsh ({@code boxd completion bash|zsh} prints the script to source).
 * The scripts ask the CLI itself ({@code boxd __complete WORDS…}), so the verbs they offer are the
 * ones this CLI has, and VM names are the account's, fetched only where a VM is expected.
 */
final class Completion {
  static final String COMPLETE = "__complete";

  private static final List<String> EXTRA = List.of("auth", "machine", "completion");
  private static final List<String> MACHINE = List.of("new", "list", "get", "fork", "exec", "cp", "stop", "start", "reboot", "pause", "resume",
      "remove", "config");
  private static final List<String> AUTH = List.of("login", "logout", "keys");
  private static final Set<String> TAKES_VM = Set.of("info", "exec", "connect", "ssh", "fork", "destroy", "rm", "pause", "resume", "hibernate",
      "auto-suspend", "reboot", "stop", "start", "expose", "get", "remove");
  private static final List<String> GLOBAL_FLAGS = List.of("--json", "--help", "--api-url", "--org");

  private Completion() {}

  static int script(List<String> args, Terminal terminal) throws IOException {
    String shell = args.isEmpty() ? "" : args.getFirst();
    String text = switch (shell) {
      case "bash" -> BASH;
      case "zsh" -> ZSH;
      default -> throw BoxdException.invalid("completion for which shell? boxd completion bash | boxd completion zsh"
          + " (then: source <(boxd completion bash), or add that line to ~/.bashrc)");
    };
    terminal.out().write(text.getBytes(StandardCharsets.UTF_8));
    terminal.out().flush();
    return 0;
  }

  /** Candidates for the last word, given the words before it (the current word last, possibly empty). */
  static int candidates(List<String> words, Terminal terminal) throws IOException {
    List<String> out = candidatesFor(words, () -> vmNames());
    terminal.out().write((String.join("\n", out) + (out.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
    terminal.out().flush();
    return 0;
  }

  interface Names {
    List<String> get();
  }

  static List<String> candidatesFor(List<String> words, Names vms) {
    String current = words.isEmpty() ? "" : words.getLast();
    List<String> before = words.isEmpty() ? List.of() : words.subList(0, words.size() - 1);
    List<String> options;
    if (current.startsWith("-")) {
      options = GLOBAL_FLAGS;
    } else if (before.isEmpty()) {
      options = new ArrayList<>(Verbs.names());
      options.addAll(EXTRA);
    } else if (before.getFirst().equals("machine") && before.size() == 1) {
      options = MACHINE;
    } else if (before.getFirst().equals("auth") && before.size() == 1) {
      options = AUTH;
    } else if (before.getFirst().equals("completion")) {
      options = List.of("bash", "zsh");
    } else {
      String verb = before.getFirst().equals("machine") ? before.get(1) : before.getFirst();
      long positionals = before.stream().skip(before.getFirst().equals("machine") ? 2 : 1).filter(w -> !w.startsWith("-")).count();
      options = TAKES_VM.contains(verb) && positionals == 0 ? vms.get() : List.of();
    }
    return options.stream().filter(o -> o.startsWith(current)).distinct().toList();
  }

  private static List<String> vmNames() {
    try {
      var connection = Connection.resolve(GlobalOptions.parse(List.of()));
      try (var boxd = connection.authenticated()) {
        return Main.operations(boxd, connection, "").list().stream().map(dev.boxd.verbs.Operations.VmView::name).toList();
      }
    } catch (RuntimeException e) {
      return List.of(); // not logged in, or no server: no names to offer
    }
  }

  private static final String BASH = """
      # boxd completion for bash: source <(boxd completion bash)
      _boxd() {
        local IFS=$'\\n'
        COMPREPLY=($(boxd __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
      }
      complete -o default -F _boxd boxd
      """;

  private static final String ZSH = """
      #compdef boxd
      # boxd completion for zsh: source <(boxd completion zsh)  (after compinit)
      _boxd() {
        local -a candidates
        candidates=("${(@f)$(boxd __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
        compadd -a candidates
      }
      compdef _boxd boxd
      """;
}
