package dev.boxd.ssh;

import java.io.IOException;
import java.util.Map;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.channel.ChannelSessionFactory;

/** A session channel that remembers whether the client asked for a terminal (pty-req). */
final class VerbChannel extends ChannelSession {
  /** The only channel type the front door opens: no direct-tcpip, no forwarding. */
  static final ChannelFactory FACTORY = new ChannelSessionFactory() {
    @Override
    public Channel createChannel(Session session) {
      return new VerbChannel();
    }
  };

  private volatile boolean ptyRequested;

  boolean ptyRequested() {
    return ptyRequested;
  }

  @Override
  protected RequestHandler.Result handlePtyReqParsed(String term, int columns, int rows, int width, int height,
      Map<PtyMode, Integer> modes) throws IOException {
    ptyRequested = true;
    return super.handlePtyReqParsed(term, columns, rows, width, height, modes);
  }
}
