package dev.boxd.cli;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress line of {@code cp} on a terminal: bytes so far and the rate, redrawn at most ten
 * times a second on stderr, and cleared at the end. Off when stderr is not a terminal, so scripts
 * and pipes see nothing of it.
 */
final class Progress {
  private static final long REDRAW_NANOS = 100_000_000L;

  private final PrintStream terminal;

  private Progress(PrintStream terminal) {
    this.terminal = terminal;
  }

  static Progress on(PrintStream stderr) {
    return new Progress(stderr);
  }

  static Progress off() {
    return new Progress(null);
  }

  InputStream counting(InputStream in, String what) {
    if (terminal == null) {
      return in;
    }
    var meter = new Meter(what);
    return new FilterInputStream(in) {
      @Override
      public int read() throws IOException {
        int b = super.read();
        meter.add(b < 0 ? 0 : 1, b < 0);
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        meter.add(Math.max(n, 0), n < 0);
        return n;
      }

      @Override
      public void close() throws IOException {
        meter.add(0, true);
        super.close();
      }
    };
  }

  OutputStream counting(OutputStream out, String what) {
    if (terminal == null) {
      return out;
    }
    var meter = new Meter(what);
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        meter.add(len, false);
      }

      @Override
      public void flush() throws IOException {
        super.flush();
        meter.add(0, true);
      }
    };
  }

  private final class Meter {
    private final String what;
    private final long started = System.nanoTime();
    private long bytes;
    private long drawn;
    private boolean finished;

    Meter(String what) {
      this.what = what;
    }

    synchronized void add(long n, boolean end) {
      bytes += n;
      long now = System.nanoTime();
      if (end) {
        if (!finished && drawn != 0) {
          terminal.print("\r\033[K");
          terminal.flush();
        }
        finished = true;
        return;
      }
      if (now - drawn >= REDRAW_NANOS) {
        drawn = now;
        double seconds = Math.max((now - started) / 1e9, 1e-3);
        terminal.print(String.format(Locale.ROOT, "\r\033[K%s %s  %s/s", what, size(bytes), size((long) (bytes / seconds))));
        terminal.flush();
      }
    }
  }

  static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
