package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one entry point to the verbs. A transport (SSH front door, in-VM gateway, CLI) turns what
 * the user typed into words, binds {@link Operations} to the user, and calls {@link #run}; every
 * rule of SPEC §2 (flags, --json, error shapes, exit codes) is applied here, the same on every
 * surface.
 */
public final class Verbs {
  private static final Logger log = LoggerFactory.getLogger(Verbs.class);

  /** Exit code when the user interrupted the verb or went away, as a shell reports SIGINT. */
  public static final int INTERRUPTED = 130;

  /** Longest error message shown; the rest is cut. */
  private static final int MAX_MESSAGE = 2000;

  private static final List<Verb> ALL = List.of(
      VmVerbs.create(), VmVerbs.list(), VmVerbs.info(), ExecVerbs.exec(), CopyVerb.copy(), ExecVerbs.connect(), VmVerbs.fork(), SnapshotVerb.snapshot(),
      VmVerbs.sshConfig(), EdgeVerbs.proxy(), EdgeVerbs.expose(), PowerVerbs.destroy(), PowerVerbs.pause(), PowerVerbs.resume(), PowerVerbs.hibernate(), PowerVerbs.autoSuspend(), PowerVerbs.reboot(), PowerVerbs.stop(),
      PowerVerbs.start(), MachineVerbs.machine(), MetaVerbs.whoami(), ApiKeyVerb.apiKey(), MetaVerbs.help(), MetaVerbs.version());

  private Verbs() {}

  /**
   * Runs one verb: {@code argv} is the verb and its arguments ({@code ["exec", "app", "--", "ls"]}).
   * Returns the exit code: 0, the code of the error from {@link ErrorCode}, exec's remote exit
   * code, or {@link #INTERRUPTED}. Never throws for anything the user or an operation did; errors
   * are reported on the terminal (stderr, or stdout as JSON with --json).
   */
  public static int run(List<String> argv, Operations ops, Terminal terminal) {
    Args args = null;
    try {
      if (argv.isEmpty()) {
        throw BoxdException.invalid("missing verb: expected one of " + verbList() + " (see: help)");
      }
      Verb verb = find(alias(argv.getFirst())).orElseThrow(() -> unknownVerb(argv.getFirst()));
      List<String> rest = argv.subList(1, argv.size());
      if (verb.noun() && !rest.isEmpty() && !rest.getFirst().startsWith("-")) {
        Verb noun = verb;
        String word = rest.getFirst();
        verb = noun.subVerb(word).orElseThrow(() -> unknownSubVerb(noun, word));
        rest = rest.subList(1, rest.size());
      }
      args = Args.parse(verb.syntax(), rest);
      if (args.has("help")) {
        Call.write(terminal.out(), verb.syntax().help());
        return 0;
      }
      return verb.action().run(new Call(verb.syntax(), args, ops, terminal));
    } catch (BoxdException e) {
      if (Thread.currentThread().isInterrupted()) {
        return INTERRUPTED;
      }
      report(terminal, json(args, argv), e.code(), e.getMessage());
      return e.code().exitCode();
    } catch (IOException | UncheckedIOException e) {
      if (Thread.currentThread().isInterrupted() || e instanceof InterruptedIOException
          || e.getCause() instanceof InterruptedIOException) {
        return INTERRUPTED;
      }
      // Most often the user's own streams, gone with the connection; then this report fails too.
      report(terminal, json(args, argv), ErrorCode.UNAVAILABLE, "input/output failed: " + e.getMessage());
      return ErrorCode.UNAVAILABLE.exitCode();
    } catch (RuntimeException e) {
      if (Thread.currentThread().isInterrupted()) {
        return INTERRUPTED;
      }
      log.error("verb {} failed", argv.isEmpty() ? "" : Names.quote(argv.getFirst()), e);
      report(terminal, json(args, argv), ErrorCode.INTERNAL, "internal error (" + e.getClass().getSimpleName() + ")");
      return ErrorCode.INTERNAL.exitCode();
    }
  }

  /**
   * Whether these words (split from a command line) start a verb whose last words are a command
   * for the VM ({@code exec NAME -- CMD}, {@code machine exec VM -- CMD}): a transport that
   * receives one string then keeps that command as sent ({@link ShellWords#splitKeepingCommand}).
   */
  public static boolean takesCommand(List<String> words) {
    if (words.isEmpty()) {
      return false;
    }
    Optional<Verb> verb = find(words.getFirst());
    if (verb.isPresent() && verb.get().noun()) {
      verb = words.size() > 1 ? verb.get().subVerb(words.get(1)) : Optional.empty();
    }
    return verb.map(v -> v.syntax().command()).orElse(false);
  }

  /** The names of the verbs, in help order (aliases not included). */
  public static List<String> names() {
    return ALL.stream().map(v -> v.syntax().name()).toList();
  }

  /** The overview {@code help} prints. */
  public static String overview() {
    return MetaVerbs.overview();
  }

  public static String version() {
    return MetaVerbs.VERSION;
  }

  /** Reports an error the way every verb does: one {@code error:} line, or the error JSON on stdout. */
  public static void report(Terminal terminal, boolean json, ErrorCode code, String message) {
    String shown = message == null ? code.name() : message;
    if (shown.length() > MAX_MESSAGE) {
      shown = shown.substring(0, MAX_MESSAGE) + "...";
    }
    shown = Text.escapeControls(shown); // messages quote user input; a terminal must not act on it
    try {
      if (json) {
        Call.write(terminal.out(), Json.write(Json.error(code, shown)) + "\n");
      } else {
        Call.write(terminal.err(), "error: " + shown + "\n");
      }
    } catch (IOException e) {
      log.debug("cannot report an error to a user who went away: {}", e.toString());
    }
  }

  static List<Verb> all() {
    return ALL;
  }

  static Optional<Verb> find(String word) {
    return ALL.stream().filter(v -> v.syntax().answersTo(word)).findFirst();
  }

  static BoxdException unknownVerb(String word) {
    return BoxdException.invalid("unknown verb " + Names.quote(word) + ": expected one of " + verbList() + " (see: help)");
  }

  static BoxdException unknownSubVerb(Verb noun, String word) {
    String name = noun.syntax().name();
    return BoxdException.invalid("unknown " + name + " verb " + Names.quote(word) + ": expected one of "
        + String.join(", ", noun.subVerbWords()) + " (see: help " + name + ")");
  }

  private static String verbList() {
    return String.join(", ", names());
  }

  private static String alias(String word) {
    return switch (word) {
      case "--help", "-h" -> "help";
      case "--version" -> "version";
      default -> word;
    };
  }

  private static boolean json(Args parsed, List<String> argv) {
    return parsed != null ? parsed.has("json") : asksForJson(argv);
  }

  /**
   * Whether words not (yet) parsed ask for JSON errors: {@code --json} anywhere before a
   * {@code "--"} (after it, the words belong to the VM's command). A front door uses this for
   * errors it reports before the verb runs, so they take the shape the verb's own would.
   */
  public static boolean asksForJson(List<String> argv) {
    for (String a : argv) {
      if (a.equals("--")) {
        return false;
      }
      if (a.equals("--json")) {
        return true;
      }
    }
    return false;
  }
}
