package dev.boxd.ssh;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.BooleanSupplier;

/**
 * A channel's stdin that tells the end of the user's input (SSH EOF) from a connection that went
 * away: MINA reports both as end-of-stream, and an upload cut short must fail, not look complete.
 */
final class ChannelInput extends FilterInputStream {
  private final BooleanSupplier eofReceived;

  ChannelInput(InputStream in, BooleanSupplier eofReceived) {
    super(in);
    this.eofReceived = eofReceived;
  }

  @Override
  public int read() throws IOException {
    return check(super.read());
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    return check(super.read(b, off, len));
  }

  private int check(int n) throws IOException {
    if (n < 0 && !eofReceived.getAsBoolean()) {
      throw new IOException("the connection closed before the end of input");
    }
    return n;
  }
}
