package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.sdk.Boxd;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Terminal;
import dev.boxd.verbs.Verbs;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code boxd} on a laptop: every verb of the SSH front door, the same flags, text and JSON (the
 * verbs module runs them; {@link RemoteOperations} carries their calls to the gRPC API), plus what
 * only a laptop needs: {@code auth} (login, logout, keys), the ssh-config block kept current, and
 * shell completion. Errors are one line (or the error JSON with --json) and an exit code from the
 * one table; never a stack trace.
 */
public final class Main {
  /** Verbs after which the ~/.ssh/config block is brought up to date: they add, list or remove VMs. */
  private static final Set<String> CHANGE_VMS = Set.of("new", "fork", "list", "ls", "destroy", "rm");
  private static final Set<String> MACHINE_CHANGES = Set.of("new", "fork", "list", "ls", "remove", "rm");

  private Main() {}

  public static void main(String[] args) {
    // gRPC logs through java.util.logging to stderr: a user sees the one error line, not its warnings.
    quietLogging();
    System.exit(run(List.of(args), new LocalTerminal(), Clients.perCall()));
  }

  /** Quiet logging for a process that answers a user: gRPC's warnings are not their error line. */
  static void quietLogging() {
    java.util.logging.LogManager.getLogManager().reset();
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.OFF);
  }

  /**
   * One command: {@code argv} as the user typed it, on {@code terminal} (this process's own, or a
   * thin client's over the {@link Resident} socket), with SDK clients from {@code clients}.
   */
  static int run(List<String> argv, Terminal terminal, Clients clients) {
    PrintStream err = new PrintStream(terminal.err(), true, StandardCharsets.UTF_8);
    try {
      GlobalOptions options = GlobalOptions.parse(argv).resolvedIn(terminal.localFiles());
      List<String> words = options.rest();
      if (words.isEmpty()) {
        return Verbs.run(List.of("help"), offline(), terminal);
      }
      switch (words.getFirst()) {
        case "auth" -> {
          return new AuthCommand(options, terminal).run(words.subList(1, words.size()));
        }
        case "login" -> {
          return new AuthCommand(options, terminal).run(prepend("login", words.subList(1, words.size())));
        }
        case "logout" -> {
          return new AuthCommand(options, terminal).run(prepend("logout", words.subList(1, words.size())));
        }
        case "completion" -> {
          return Completion.script(words.subList(1, words.size()), terminal);
        }
        case Completion.COMPLETE -> {
          return Completion.candidates(words.subList(1, words.size()), terminal);
        }
        default -> {
          return verb(options, words, terminal, clients, err);
        }
      }
    } catch (BoxdException e) {
      Verbs.report(terminal, Verbs.asksForJson(argv), e.code(), e.getMessage());
      return e.code().exitCode();
    } catch (IOException | UncheckedIOException e) {
      Verbs.report(terminal, Verbs.asksForJson(argv), ErrorCode.UNAVAILABLE, "input/output failed: " + e.getMessage());
      return ErrorCode.UNAVAILABLE.exitCode();
    } catch (IllegalArgumentException e) {
      // the SDK's word for a setting it cannot use (a URL, a CA file): the message says which
      Verbs.report(terminal, Verbs.asksForJson(argv), ErrorCode.INVALID_ARGUMENT, e.getMessage());
      return ErrorCode.INVALID_ARGUMENT.exitCode();
    } catch (RuntimeException e) {
      Verbs.report(terminal, Verbs.asksForJson(argv), ErrorCode.INTERNAL, "internal error: " + e);
      return ErrorCode.INTERNAL.exitCode();
    }
  }

  private static int verb(GlobalOptions options, List<String> words, Terminal terminal, Clients clients, PrintStream err) {
    var connected = new Connected(options, clients, progress(terminal));
    try {
      int code = Verbs.run(words, connected.operations(), terminal);
      if (code == 0 && changesVms(words) && connected.ops != null) {
        refreshSshFiles(connected.ops, connected.connection.login(), err);
      }
      return code;
    } finally {
      connected.close();
    }
  }

  private static boolean changesVms(List<String> words) {
    String verb = words.getFirst();
    if (verb.equals("machine")) {
      return words.size() > 1 && MACHINE_CHANGES.contains(words.get(1));
    }
    return CHANGE_VMS.contains(verb);
  }

  /** The verbs' operations over {@code boxd}'s API, for a command that copies no files. */
  static Operations operations(Boxd boxd, Connection connection, String org) {
    return operations(boxd, connection, org, Progress.off());
  }

  private static Operations operations(Boxd boxd, Connection connection, String org, Progress progress) {
    return new RemoteOperations(boxd.api(), boxd.asyncApi(), connection.apiUrl(), org, progress);
  }

  /**
   * A progress line for {@code cp} when the user watches stderr: this process's own stderr is a
   * terminal, or (for a thin client, which tells only whether stdin and stdout are) the client has a terminal.
   */
  private static Progress progress(Terminal terminal) {
    boolean watched = terminal instanceof LocalTerminal ? LocalTerminal.isTerminal(2) : terminal.tty().isPresent();
    return watched ? Progress.on(new PrintStream(terminal.err(), true, StandardCharsets.UTF_8)) : Progress.off();
  }

  /**
   * Brings the ~/.ssh/config block and the known_hosts pins up to date, for a login that has a
   * device key; a failure is a warning (the verb itself succeeded).
   */
  static void refreshSshFiles(Operations ops, Optional<Credentials> login, PrintStream err) {
    Optional<Path> identity = login.flatMap(Credentials::identityFile);
    if (identity.isEmpty()) {
      return;
    }
    try {
      SshFiles.ofUser().update(ops.sshConfig(), identity.get());
    } catch (BoxdException e) {
      if (e.code() != ErrorCode.FAILED_PRECONDITION) {
        err.println("warning: ~/.ssh/config was not updated: " + e.getMessage());
      }
    } catch (IOException | RuntimeException e) {
      err.println("warning: ~/.ssh/config was not updated: " + e.getMessage());
    }
  }

  private static List<String> prepend(String word, List<String> rest) {
    var all = new java.util.ArrayList<String>();
    all.add(word);
    all.addAll(rest);
    return all;
  }

  /** Operations for what runs without a server (help): any call says how to log in. */
  private static Operations offline() {
    return (Operations) Proxy.newProxyInstance(Operations.class.getClassLoader(), new Class<?>[] {Operations.class}, (proxy, method, args) -> {
      if (method.getName().equals("currentVm")) {
        return Optional.empty();
      }
      throw new BoxdException(ErrorCode.UNAUTHENTICATED, "not logged in: run `boxd auth login --api-url https://HOST:9443`");
    });
  }

  /**
   * The connection of one verb, made at its first call: help, --help and wrong arguments need no
   * server, and answer at once without one.
   */
  private static final class Connected {
    private final GlobalOptions options;
    private final Clients clients;
    private final Progress progress;
    private Connection connection;
    private Boxd boxd;
    private Operations ops;

    Connected(GlobalOptions options, Clients clients, Progress progress) {
      this.options = options;
      this.clients = clients;
      this.progress = progress;
    }

    Operations operations() {
      return (Operations) Proxy.newProxyInstance(Operations.class.getClassLoader(), new Class<?>[] {Operations.class}, (proxy, method, args) -> {
        if (method.getName().equals("currentVm")) {
          return Optional.empty();
        }
        try {
          return method.invoke(connect(), args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
    }

    private synchronized Operations connect() {
      if (ops == null) {
        connection = Connection.resolve(options);
        boxd = clients.open(connection);
        ops = Main.operations(boxd, connection, options.org().orElse(""), progress);
      }
      return ops;
    }

    void close() {
      if (boxd != null) {
        clients.release(boxd);
      }
    }
  }
}
