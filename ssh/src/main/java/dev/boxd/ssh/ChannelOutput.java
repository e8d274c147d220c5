package dev.boxd.ssh;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A channel's stdout or stderr for the verbs: every write is sent at once (interactive output
 * must not wait for a full packet) and writes from several threads (a command's output, the line
 * discipline's echo) never interleave inside one another. With {@code onlcr}, as a terminal's
 * output processing does, each LF goes out as CR LF.
 */
final class ChannelOutput extends OutputStream {
  private final OutputStream channel;
  private final Object lock;
  private final boolean onlcr;

  ChannelOutput(OutputStream channel, Object lock, boolean onlcr) {
    this.channel = channel;
    this.lock = lock;
    this.onlcr = onlcr;
  }

  /** The same channel stream without newline translation (for a remote terminal's own output). */
  ChannelOutput raw() {
    return new ChannelOutput(channel, lock, false);
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    synchronized (lock) {
      if (!onlcr) {
        channel.write(b, off, len);
      } else {
        int start = off;
        for (int i = off; i < off + len; i++) {
          if (b[i] == '\n') {
            if (i > start) {
              channel.write(b, start, i - start);
            }
            channel.write(CRLF, 0, 2);
            start = i + 1;
          }
        }
        if (off + len > start) {
          channel.write(b, start, off + len - start);
        }
      }
      channel.flush();
    }
  }

  @Override
  public void flush() throws IOException {
    synchronized (lock) {
      channel.flush();
    }
  }

  // Closing is the channel's business, when the verb has exited.
  @Override
  public void close() throws IOException {
    flush();
  }

  private static final byte[] CRLF = {'\r', '\n'};
}
