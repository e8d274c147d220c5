package dev.boxd.verbs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * exec --json's output: stdout, stderr, and both interleaved as produced. Bounded: past
 * {@link #LIMIT} bytes the sinks throw, which makes the operation kill the command.
 */
final class Capture {
  static final int LIMIT = 64 << 20;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final ByteArrayOutputStream both = new ByteArrayOutputStream();
  private boolean overflowed;

  OutputStream stdout() {
    return sink(out);
  }

  OutputStream stderr() {
    return sink(err);
  }

  private OutputStream sink(ByteArrayOutputStream target) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        synchronized (Capture.this) {
          if (overflowed || both.size() + (long) len > LIMIT) {
            overflowed = true;
            throw new IOException("exec --json output over " + LIMIT + " bytes");
          }
          target.write(b, off, len);
          both.write(b, off, len);
        }
      }
    };
  }

  synchronized boolean overflowed() {
    return overflowed;
  }

  synchronized String output() {
    return both.toString(StandardCharsets.UTF_8);
  }

  synchronized String stdoutText() {
    return out.toString(StandardCharsets.UTF_8);
  }

  synchronized String stderrText() {
    return err.toString(StandardCharsets.UTF_8);
  }
}
