package dev.boxd.ssh;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.AbstractChannel;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.channel.ChannelSessionFactory;

/**
 * A user's session channel on the {@link VmGateway}: it keeps what the user asked for exactly as
 * they asked (the terminal of a pty-req, env variables, the exec command's bytes) so that the
 * same requests can be made to the VM's sshd, passes window changes and signals on to the VM's
 * channel once there is one, and can end with the VM's exit signal instead of an exit status.
 */
final class ProxyChannel extends ChannelSession {
  static final ChannelFactory FACTORY = new ChannelSessionFactory() {
    @Override
    public Channel createChannel(Session session) {
      return new ProxyChannel();
    }
  };

  /** A pty-req: terminal type, size in characters and pixels, and modes. */
  record Pty(String term, int columns, int rows, int width, int height, Map<PtyMode, Integer> modes) {
    Pty resized(int newColumns, int newRows, int newWidth, int newHeight) {
      return new Pty(term, newColumns, newRows, newWidth, newHeight, modes);
    }

    boolean sameSize(Pty other) {
      return other != null && columns == other.columns && rows == other.rows && width == other.width && height == other.height;
    }
  }

  /** Where requests that arrive after the VM's channel is open go. */
  interface Upstream {
    void windowChange(Pty size) throws IOException;

    void signal(String name) throws IOException;
  }

  private volatile Pty pty;
  private final Map<String, String> env = new LinkedHashMap<>();
  private volatile byte[] command;
  private volatile Upstream upstream;
  private volatile String exitSignal;

  Pty pty() {
    return pty;
  }

  synchronized Map<String, String> env() {
    return new LinkedHashMap<>(env);
  }

  /** The exec request's command as the client sent it (not necessarily UTF-8). */
  byte[] command() {
    return command;
  }

  /** Connects later window changes and signals to the VM's channel; sends a change that came in between. */
  void attach(Upstream target, Pty sentWithOpen) throws IOException {
    upstream = target;
    Pty now = pty;
    if (now != null && !now.sameSize(sentWithOpen)) {
      target.windowChange(now);
    }
  }

  /** Makes the channel end with SSH exit-signal {@code name} (TERM, KILL, ...) instead of an exit status. */
  void exitSignal(String name) {
    exitSignal = name;
  }

  @Override
  protected RequestHandler.Result handlePtyReqParsed(String term, int columns, int rows, int width, int height,
      Map<PtyMode, Integer> modes) throws IOException {
    pty = new Pty(term, columns, rows, width, height, Map.copyOf(modes));
    return super.handlePtyReqParsed(term, columns, rows, width, height, modes);
  }

  @Override
  protected RequestHandler.Result handleEnvParsed(String name, String value) throws IOException {
    synchronized (this) {
      env.put(name, value);
    }
    return super.handleEnvParsed(name, value);
  }

  @Override
  protected RequestHandler.Result handleExec(String request, Buffer buffer, boolean wantReply) throws IOException {
    int start = buffer.rpos();
    command = buffer.getBytes();
    buffer.rpos(start);
    return super.handleExec(request, buffer, wantReply);
  }

  @Override
  protected RequestHandler.Result handleWindowChangeParsed(int columns, int rows, int width, int height) throws IOException {
    Pty current = pty;
    if (current != null) {
      pty = current.resized(columns, rows, width, height);
      Upstream target = upstream;
      if (target != null) {
        target.windowChange(pty);
      }
    }
    return super.handleWindowChangeParsed(columns, rows, width, height);
  }

  @Override
  protected RequestHandler.Result handleSignalParsed(String name) throws IOException {
    Upstream target = upstream;
    if (target != null) {
      target.signal(name);
    }
    return super.handleSignalParsed(name);
  }

  @Override
  protected void closeShell(int exitValue, boolean closeImmediately) throws IOException {
    String signal = exitSignal;
    if (signal == null || isClosing()) {
      super.closeShell(exitValue, closeImmediately);
      return;
    }
    if (out != null) {
      out.close();
    }
    sendEof();
    // RFC 4254 §6.10: signal name without "SIG", core dumped, error message, language tag.
    request(this, "exit-signal", buffer -> {
      buffer.putString(signal);
      buffer.putBoolean(false);
      buffer.putString("");
      buffer.putString("");
    });
    commandExitFuture.setClosed();
    close(closeImmediately);
  }

  /** Sends a channel request that wants no reply. */
  static void request(AbstractChannel channel, String type, Consumer<Buffer> body) throws IOException {
    Buffer buffer = channel.getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_REQUEST, 64);
    buffer.putUInt(channel.getRecipient());
    buffer.putString(type);
    buffer.putBoolean(false);
    body.accept(buffer);
    channel.writePacket(buffer);
  }
}
