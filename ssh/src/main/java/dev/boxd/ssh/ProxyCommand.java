package dev.boxd.ssh;

import dev.boxd.ssh.ProxyChannel.Pty;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.channel.ChannelSubsystem;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.channel.PtyCapableChannelSession;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.channel.AbstractChannel;
import org.apache.sshd.common.channel.PtyChannelConfiguration;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One user channel on the {@link VmGateway} (a shell, an exec or a subsystem), carried out by
 * the same request on a channel to the VM's sshd: the terminal, env and command as the user sent
 * them, stdin, stdout and stderr streamed apart with flow control both ways, window changes and
 * signals passed on, and the VM's exit status (or exit signal) returned. Either side's end closes
 * the other.
 */
final class ProxyCommand implements Command {
  private static final Logger log = LoggerFactory.getLogger(ProxyCommand.class);
  private static final AtomicLong IDS = new AtomicLong();
  private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);
  /** After the VM's output ends, how long its exit status may take. */
  private static final Duration EXIT_WAIT = Duration.ofSeconds(10);
  private static final int BUFFER = 32 * 1024;
  /** What ssh itself exits with when the connection fails. */
  static final int CONNECTION_FAILED = 255;

  enum Kind { SHELL, EXEC, SUBSYSTEM }

  private final VmGateway gateway;
  private final Kind kind;
  private final String detail;
  private InputStream in;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exit;
  private ProxyChannel channel;
  private volatile Thread thread;
  private volatile ClientChannel upstream;

  ProxyCommand(VmGateway gateway, Kind kind, String detail) {
    this.gateway = gateway;
    this.kind = kind;
    this.detail = detail;
  }

  @Override
  public void setInputStream(InputStream stdin) {
    this.in = stdin;
  }

  @Override
  public void setOutputStream(OutputStream stdout) {
    this.out = stdout;
  }

  @Override
  public void setErrorStream(OutputStream stderr) {
    this.err = stderr;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exit = callback;
  }

  @Override
  public void start(ChannelSession session, Environment env) {
    channel = (ProxyChannel) session;
    thread = Thread.ofVirtual().name("vm-ssh-" + IDS.incrementAndGet()).start(this::run);
  }

  /** The user's channel closed: the VM's channel goes too. */
  @Override
  public void destroy(ChannelSession session) {
    ClientChannel up = upstream;
    if (up != null) {
      up.close(true);
    }
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }

  private void run() {
    int code = CONNECTION_FAILED;
    String signal = null;
    ClientChannel up = null;
    try {
      ClientSession session = gateway.upstreamOf(channel.getSession()).await();
      Pty pty = channel.pty();
      up = open(session, pty);
      upstream = up;
      channel.attach(new Forwarder(up), pty);
      ClientChannel opened = up;
      Thread stdin = Thread.ofVirtual().name(Thread.currentThread().getName() + "-in").start(() -> pumpStdin(opened));
      Thread stderr = Thread.ofVirtual().name(Thread.currentThread().getName() + "-err").start(() -> copy(opened.getInvertedErr(), err));
      copy(up.getInvertedOut(), out);
      stderr.join();
      up.waitFor(EnumSet.of(ClientChannelEvent.CLOSED, ClientChannelEvent.EXIT_STATUS, ClientChannelEvent.EXIT_SIGNAL), EXIT_WAIT);
      Integer status = up.getExitStatus();
      signal = up.getExitSignal();
      if (status != null) {
        code = status;
        signal = null;
      } else if (signal == null && !Thread.currentThread().isInterrupted()) {
        report("the connection to the VM ended without an exit status");
      }
      stdin.interrupt();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the user's channel closed
    } catch (IOException | RuntimeException e) {
      if (!Thread.currentThread().isInterrupted()) {
        log.debug("VM SSH channel ({}) failed: {}", kind, e.toString());
        report(e.getMessage());
      }
    } finally {
      if (up != null) {
        up.close(false);
      }
      if (signal != null) {
        channel.exitSignal(signal);
      }
      exit.onExit(code);
    }
  }

  private ClientChannel open(ClientSession session, Pty pty) throws IOException {
    Map<String, String> env = channel.env();
    var terminal = new PtyChannelConfiguration();
    if (pty != null) {
      terminal.setPtyType(pty.term());
      terminal.setPtyColumns(pty.columns());
      terminal.setPtyLines(pty.rows());
      terminal.setPtyWidth(pty.width());
      terminal.setPtyHeight(pty.height());
      terminal.setPtyModes(pty.modes());
    }
    ClientChannel up = switch (kind) {
      case SHELL -> {
        ChannelShell shell = session.createShellChannel(terminal, env);
        shell.setUsePty(pty != null);
        yield shell;
      }
      case EXEC -> {
        byte[] command = channel.command();
        ChannelExec exec = command != null ? session.createExecChannel(command, terminal, env)
            : session.createExecChannel(detail, terminal, env);
        exec.setUsePty(pty != null);
        yield exec;
      }
      case SUBSYSTEM -> {
        ChannelSubsystem subsystem = session.createSubsystemChannel(detail);
        env.forEach(subsystem::setEnv);
        yield subsystem;
      }
    };
    try {
      up.open().verify(OPEN_TIMEOUT);
    } catch (IOException | RuntimeException e) {
      up.close(true);
      throw e;
    }
    return up;
  }

  // The user's input goes to the VM; their EOF becomes the VM's EOF. A user connection that went
  // away is not an EOF (an upload cut short must not look complete): the channel just closes.
  private void pumpStdin(ClientChannel up) {
    var input = new ChannelInput(in, channel::isEofSignalled);
    OutputStream sink = up.getInvertedIn();
    byte[] buffer = new byte[BUFFER];
    try {
      int n;
      while ((n = input.read(buffer)) >= 0) {
        sink.write(buffer, 0, n);
        sink.flush();
      }
      sink.close(); // sends EOF
    } catch (IOException e) {
      log.debug("VM SSH channel: stdin ended: {}", e.toString());
    }
  }

  private static void copy(InputStream from, OutputStream to) {
    byte[] buffer = new byte[BUFFER];
    try {
      int n;
      while ((n = from.read(buffer)) >= 0) {
        to.write(buffer, 0, n);
        to.flush();
      }
    } catch (IOException e) {
      log.debug("VM SSH channel: output ended: {}", e.toString());
    }
  }

  private void report(String message) {
    try {
      String end = channel.pty() != null ? "\r\n" : "\n"; // a terminal in raw mode needs the CR
      err.write(("boxd: " + message + end).getBytes(StandardCharsets.UTF_8));
      err.flush();
    } catch (IOException e) {
      log.debug("cannot tell a user who went away: {}", e.toString());
    }
  }

  /** Requests from the user that come after the VM's channel is open. */
  private record Forwarder(ClientChannel up) implements ProxyChannel.Upstream {
    @Override
    public void windowChange(Pty size) throws IOException {
      if (up instanceof PtyCapableChannelSession session) {
        session.sendWindowChange(size.columns(), size.rows(), size.height(), size.width());
      }
    }

    @Override
    public void signal(String name) throws IOException {
      ProxyChannel.request((AbstractChannel) up, "signal", buffer -> buffer.putString(name));
    }
  }
}
