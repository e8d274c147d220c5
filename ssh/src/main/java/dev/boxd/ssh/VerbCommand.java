package dev.boxd.ssh;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.verbs.ShellWords;
import dev.boxd.verbs.Terminal;
import dev.boxd.verbs.Verbs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SSH channel's work: an exec request runs one verb, a shell request the {@code boxd>} prompt.
 * It runs on a virtual thread of its own; whatever happens in it ends with an exit status on this
 * channel and never reaches the server or other sessions. Closing the channel (the client went
 * away) interrupts the verb.
 */
final class VerbCommand implements Command {
  private static final Logger log = LoggerFactory.getLogger(VerbCommand.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final Accounts accounts;
  /** Prefix of the registration page's URL, to which the code is added; empty when there is no page. */
  private final String registrationUrl;
  private final Optional<String> commandLine;
  private InputStream in;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exit;
  private volatile Thread thread;
  private volatile LineDiscipline discipline;
  private final SubmissionPublisher<WindowSize> resizes = new SubmissionPublisher<>();
  private final Object runningLock = new Object();
  private boolean verbRunning;
  private boolean interrupted;

  VerbCommand(Accounts accounts, String registrationUrl, Optional<String> commandLine) {
    this.accounts = accounts;
    this.registrationUrl = registrationUrl;
    this.commandLine = commandLine;
  }

  @Override
  public void setInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void setErrorStream(OutputStream err) {
    this.err = err;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exit = callback;
  }

  @Override
  public void start(ChannelSession channel, Environment env) {
    env.addSignalListener((ch, signal) -> resizes.submit(size(env)), Signal.WINCH);
    thread = Thread.ofVirtual().name("ssh-verb-" + IDS.incrementAndGet()).start(() -> serve(channel, env));
  }

  @Override
  public void destroy(ChannelSession channel) {
    Thread t = thread;
    if (t != null && t.isAlive()) {
      t.interrupt();
    }
    var d = discipline;
    if (d != null) {
      d.close();
    }
    resizes.close();
  }

  private void serve(ChannelSession channel, Environment env) {
    int code = ErrorCode.INTERNAL.exitCode();
    try {
      boolean pty = channel instanceof VerbChannel v && v.ptyRequested();
      var stdin = new ChannelInput(in, channel::isEofSignalled);
      var stdout = new ChannelOutput(out, new Object(), pty);
      // On a terminal stderr shares the screen with stdout, in order, as it does through a real PTY.
      var stderr = pty ? stdout : new ChannelOutput(err, new Object(), false);
      Terminal terminal;
      if (pty) {
        discipline = new LineDiscipline(stdin, stdout.raw());
        discipline.onInterrupt(this::interruptVerb);
        terminal = new PtyTerminal(discipline, stdout, stderr, () -> tty(env));
      } else if (commandLine.isPresent()) {
        terminal = Terminal.pipes(stdin, stdout, stderr);
      } else {
        terminal = new PromptPipes(stdin, stdout, stderr);
      }
      code = serve(channel, terminal);
    } catch (IOException e) {
      log.debug("SSH session {} ended: the client went away ({})", channel, e.toString());
    } catch (Throwable t) { // one session's failure must stay in that session
      log.warn("SSH session {} failed", channel, t);
    } finally {
      var d = discipline;
      if (d != null) {
        d.close();
      }
      try {
        err.flush();
        out.flush();
      } catch (IOException e) {
        log.debug("cannot flush a closed channel: {}", e.toString());
      }
      exit.onExit(code);
    }
  }

  private int serve(ChannelSession channel, Terminal terminal) throws IOException {
    List<String> argv = null;
    BoxdException unsplittable = null;
    if (commandLine.isPresent()) {
      try {
        argv = words(commandLine.get());
      } catch (BoxdException e) {
        unsplittable = e;
      }
    }
    // Errors reported before the verb runs take the shape its --json asks for; a line that does
    // not split as shell words (an open quote) still has its whitespace-separated words.
    boolean json = commandLine.isPresent()
        && Verbs.asksForJson(argv != null ? argv : List.of(commandLine.get().strip().split("\\s+")));
    UserKey key = channel.getSession().getAttribute(UserKey.ATTRIBUTE);
    if (key == null) { // only public keys authenticate; this is a bug, not a user
      Verbs.report(terminal, json, ErrorCode.UNAUTHENTICATED, "this session authenticated without a public key");
      return ErrorCode.UNAUTHENTICATED.exitCode();
    }
    Operations ops;
    try {
      Optional<String> account = accounts.accountOf(key.fingerprint());
      if (account.isEmpty()) {
        return register(key, sourceOf(channel), terminal);
      }
      ops = accounts.operations(account.get());
    } catch (BoxdException e) {
      Verbs.report(terminal, json, e.code(), e.getMessage());
      return e.code().exitCode();
    }
    if (commandLine.isEmpty()) {
      return Prompt.run(terminal, words -> runVerb(words, ops, terminal));
    }
    if (unsplittable != null) {
      Verbs.report(terminal, json, unsplittable.code(), unsplittable.getMessage());
      return unsplittable.code().exitCode();
    }
    return runVerb(argv, ops, terminal);
  }

  private static List<String> words(String commandLine) {
    List<String> words = ShellWords.split(commandLine);
    if (Verbs.takesCommand(words)) {
      // exec's command after -- goes to the VM's shell as sent, as ssh hands a command to a host's shell.
      return ShellWords.splitKeepingCommand(commandLine);
    }
    return words;
  }

  // The client's IP address, as registrations are counted per address.
  private static String sourceOf(ChannelSession channel) {
    return channel.getSession().getClientAddress() instanceof java.net.InetSocketAddress address
        ? address.getAddress().getHostAddress() : String.valueOf(channel.getSession().getClientAddress());
  }

  private int register(UserKey key, String source, Terminal terminal) throws IOException {
    String code = accounts.openRegistration(key.fingerprint(), key.publicKey(), source);
    log.info("unknown SSH key {}: registration {} opened", key.fingerprint(), code);
    String line = "This SSH key (" + key.fingerprint() + ") is not linked to a boxd account. "
        + (registrationUrl.isEmpty() ? "Ask the operator to run" : "Register it at " + registrationUrl + code + " or ask the operator:")
        + " boxd admin approve " + code + "\n";
    terminal.err().write(line.getBytes(StandardCharsets.UTF_8));
    return 1;
  }

  // Ctrl-C interrupts the verb that is running, and nothing else (not the prompt between verbs).
  private int runVerb(List<String> argv, Operations ops, Terminal terminal) {
    synchronized (runningLock) {
      verbRunning = true;
      interrupted = false;
    }
    int code = Verbs.run(argv, ops, terminal);
    synchronized (runningLock) {
      verbRunning = false;
      if (discipline != null) {
        Thread.interrupted(); // a Ctrl-C that came as the verb ended is spent
      }
      return interrupted ? Verbs.INTERRUPTED : code;
    }
  }

  private void interruptVerb() {
    synchronized (runningLock) {
      if (verbRunning && thread != null) {
        interrupted = true;
        thread.interrupt();
      }
    }
  }

  // The size is the current one: at the prompt, the window may have changed since the pty-req.
  private Tty tty(Environment env) {
    String term = env.getEnv().getOrDefault(Environment.ENV_TERM, "xterm");
    return new Tty(term, size(env), resizes);
  }

  private static WindowSize size(Environment env) {
    Map<String, String> vars = env.getEnv();
    return new WindowSize(number(vars.get(Environment.ENV_COLUMNS), 80), number(vars.get(Environment.ENV_LINES), 24));
  }

  private static int number(String value, int fallback) {
    try {
      int n = Integer.parseInt(value);
      return n > 0 ? n : fallback;
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
