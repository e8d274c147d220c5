package dev.boxd.ssh;

import dev.boxd.verbs.Terminal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The part of a terminal that a kernel's line discipline plays, played by the server: with a PTY
 * the client's terminal is raw, so echo, line editing (backspace, Ctrl-U, Ctrl-W), Ctrl-C and
 * Ctrl-D are ours. A pump thread reads the channel; in cooked mode it edits lines and queues them
 * for {@link #cookedIn()} and {@link #readLine}, in raw mode ({@link #raw}) it queues bytes
 * untouched for a remote terminal. Ctrl-C ends a {@code readLine} with an empty line, otherwise
 * runs the interrupt handler (which interrupts the running verb).
 */
final class LineDiscipline implements AutoCloseable {
  /**
   * Longest line, as a tty's canonical buffer; keys past it ring the bell and make the line
   * overlong: {@link #readLine} refuses it whole rather than return what fitted.
   */
  static final int MAX_LINE = 4096;
  /** Input queued for a reader that does not read; the pump (and so the SSH window) waits past it. */
  private static final int MAX_QUEUED = 1 << 20;
  private static final byte[] EOF = new byte[0];
  private static final byte[] INTR = new byte[0];
  private static final byte CTRL_C = 0x03;
  private static final byte CTRL_D = 0x04;
  private static final byte BS = 0x08;
  private static final byte CTRL_U = 0x15;
  private static final byte CTRL_W = 0x17;
  private static final byte ESC = 0x1b;
  private static final byte DEL = 0x7f;
  private static final byte[] ERASE = {'\b', ' ', '\b'};
  private static final byte[] INTERRUPT_ECHO = {'^', 'C', '\r', '\n'};

  private final InputStream source;
  private final OutputStream echo;
  private final Object lock = new Object();
  private final byte[] line = new byte[MAX_LINE];
  private int lineLength;
  private boolean lineOverflowed; // keys were dropped from the line being edited
  // Finished lines that lost keys past MAX_LINE (by identity): readLine refuses them.
  private final java.util.Set<byte[]> overlong = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private final ArrayDeque<byte[]> cooked = new ArrayDeque<>();
  private int cookedPos;
  private final ArrayDeque<byte[]> rawQueue = new ArrayDeque<>();
  private int rawPos;
  private long queued;
  private RawMode raw;
  private boolean ended;
  private boolean readingLine;
  private boolean lineInterrupted;
  private boolean afterCr;
  private int escape;
  private volatile Runnable onInterrupt = () -> {};
  private final Thread pump;

  /** {@code echo} receives the echo as is (it writes CR LF itself). */
  LineDiscipline(InputStream source, OutputStream echo) {
    this.source = source;
    this.echo = echo;
    this.pump = Thread.ofVirtual().name("ssh-pty-input").start(this::pump);
  }

  void onInterrupt(Runnable handler) {
    this.onInterrupt = handler;
  }

  /** The cooked input: edited lines, end-of-file at Ctrl-D on an empty line. */
  InputStream cookedIn() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        synchronized (lock) {
          while (cooked.isEmpty()) {
            if (ended) {
              return -1;
            }
            await();
          }
          byte[] head = cooked.peek();
          if (head == EOF) {
            cooked.poll();
            return -1;
          }
          int n = Math.min(len, head.length - cookedPos);
          System.arraycopy(head, cookedPos, b, off, n);
          consumeCooked(n);
          return n;
        }
      }
    };
  }

  /** One line without its newline; empty at Ctrl-D on an empty line or when input ended; "" after Ctrl-C. */
  Optional<String> readLine() throws IOException {
    var got = new ByteArrayOutputStream();
    synchronized (lock) {
      readingLine = true;
      lineInterrupted = false;
      try {
        while (true) {
          if (lineInterrupted) {
            return Optional.of("");
          }
          if (!cooked.isEmpty()) {
            byte[] head = cooked.peek();
            if (head == EOF) {
              cooked.poll();
              return got.size() == 0 ? Optional.empty() : Optional.of(got.toString(StandardCharsets.UTF_8));
            }
            if (overlong.remove(head)) {
              consumeCooked(head.length - cookedPos);
              throw Prompt.lineTooLong(MAX_LINE);
            }
            int nl = indexOf(head, cookedPos, (byte) '\n');
            int end = nl < 0 ? head.length : nl;
            if (got.size() < Terminal.MAX_LINE) {
              got.write(head, cookedPos, end - cookedPos);
            }
            consumeCooked(end - cookedPos + (nl < 0 ? 0 : 1));
            if (nl >= 0) {
              return Optional.of(got.toString(StandardCharsets.UTF_8));
            }
            continue;
          }
          if (ended) {
            return got.size() == 0 ? Optional.empty() : Optional.of(got.toString(StandardCharsets.UTF_8));
          }
          await();
        }
      } finally {
        readingLine = false;
      }
    }
  }

  /** Hands the input over untouched until the returned mode is closed; {@code out} is the raw output. */
  dev.boxd.verbs.Terminal.Raw raw(OutputStream out) {
    synchronized (lock) {
      raw = new RawMode(out);
      return raw;
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      ended = true;
      lock.notifyAll();
    }
    pump.interrupt();
  }

  private final class RawMode implements dev.boxd.verbs.Terminal.Raw {
    private final OutputStream out;
    private boolean closed;

    RawMode(OutputStream out) {
      this.out = out;
    }

    @Override
    public InputStream in() {
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          int n = read(one, 0, 1);
          return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (len == 0) {
            return 0;
          }
          synchronized (lock) {
            while (rawQueue.isEmpty()) {
              if (ended || closed) {
                return -1;
              }
              await();
            }
            byte[] head = rawQueue.peek();
            int n = Math.min(len, head.length - rawPos);
            System.arraycopy(head, rawPos, b, off, n);
            rawPos += n;
            if (rawPos == head.length) {
              rawQueue.poll();
              rawPos = 0;
            }
            queued -= n;
            lock.notifyAll();
            return n;
          }
        }
      };
    }

    @Override
    public OutputStream out() {
      return out;
    }

    @Override
    public void close() {
      synchronized (lock) {
        closed = true;
        if (raw == this) {
          raw = null;
          rawQueue.forEach(chunk -> queued -= chunk.length);
          queued += rawPos;
          rawQueue.clear();
          rawPos = 0;
        }
        lock.notifyAll();
      }
    }
  }

  private void pump() {
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = source.read(buf)) != -1) {
        feed(buf, n);
      }
    } catch (IOException e) {
      // the connection went away: readers see the end of input
    } finally {
      synchronized (lock) {
        ended = true;
        lock.notifyAll();
      }
    }
  }

  // Edits under the lock, echoes outside it, and only then lets readers see the result: a line's
  // echo is on the screen before anything its command prints.
  private void feed(byte[] buf, int n) throws IOException {
    var echoed = new ByteArrayOutputStream();
    var staged = new ArrayList<byte[]>();
    synchronized (lock) {
      while (queued > MAX_QUEUED && !ended) {
        await();
      }
      if (raw != null) {
        rawQueue.add(Arrays.copyOf(buf, n));
        queued += n;
        lock.notifyAll();
        return;
      }
      for (int i = 0; i < n; i++) {
        cook(buf[i], echoed, staged);
      }
    }
    if (echoed.size() > 0) {
      echo.write(echoed.toByteArray());
    }
    boolean interrupt = false;
    synchronized (lock) {
      for (byte[] item : staged) {
        if (item != INTR) {
          cooked.add(item);
          queued += item.length;
        } else if (readingLine) {
          lineInterrupted = true;
        } else {
          interrupt = true;
        }
      }
      lock.notifyAll();
    }
    if (interrupt) {
      onInterrupt.run();
    }
  }

  // One key in cooked mode: edits the line, adds to the echo, stages finished lines, EOF and INTR.
  private void cook(byte b, ByteArrayOutputStream echoed, List<byte[]> staged) {
    if (escape != 0) {
      escape = nextEscapeState(escape, b);
      return;
    }
    if (afterCr && b == '\n') {
      afterCr = false;
      return;
    }
    afterCr = false;
    switch (b) {
      case CTRL_C -> {
        lineLength = 0;
        lineOverflowed = false;
        echoed.writeBytes(INTERRUPT_ECHO);
        staged.add(INTR);
      }
      case CTRL_D -> {
        staged.add(lineLength == 0 ? EOF : finishLine(Arrays.copyOf(line, lineLength)));
        lineLength = 0;
      }
      case '\r', '\n' -> {
        afterCr = b == '\r';
        echoed.write('\r');
        echoed.write('\n');
        byte[] done = Arrays.copyOf(line, lineLength + 1);
        done[lineLength] = '\n';
        lineLength = 0;
        staged.add(finishLine(done));
      }
      case DEL, BS -> eraseChar(echoed);
      case CTRL_U -> {
        while (lineLength > 0) {
          eraseChar(echoed);
        }
        lineOverflowed = false;
      }
      case CTRL_W -> {
        while (lineLength > 0 && line[lineLength - 1] == ' ') {
          eraseChar(echoed);
        }
        while (lineLength > 0 && line[lineLength - 1] != ' ') {
          eraseChar(echoed);
        }
      }
      case ESC -> escape = 1;
      default -> {
        if ((b & 0xff) < 0x20) {
          return; // other control keys do nothing
        }
        if (lineLength == MAX_LINE) {
          echoed.write(0x07);
          lineOverflowed = true;
          return;
        }
        line[lineLength++] = b;
        echoed.write(b);
      }
    }
  }

  // A line that lost keys is remembered as overlong; the next line starts afresh.
  private byte[] finishLine(byte[] done) {
    if (lineOverflowed) {
      overlong.add(done);
      lineOverflowed = false;
    }
    return done;
  }

  // Arrow and function keys arrive as ESC [ ... final, ESC O x, or ESC x: swallow them whole.
  private static int nextEscapeState(int state, byte b) {
    return switch (state) {
      case 1 -> b == '[' ? 2 : b == 'O' ? 3 : 0;
      case 2 -> (b >= 0x40 && b <= 0x7e) ? 0 : 2;
      default -> 0;
    };
  }

  // Erases one character (a whole UTF-8 sequence) from the line and from the screen.
  private void eraseChar(ByteArrayOutputStream echoed) {
    if (lineLength == 0) {
      return;
    }
    do {
      lineLength--;
    } while (lineLength > 0 && (line[lineLength] & 0xc0) == 0x80);
    echoed.writeBytes(ERASE);
  }

  private void consumeCooked(int n) {
    byte[] head = cooked.peek();
    cookedPos += n;
    queued -= n;
    if (cookedPos >= head.length) {
      overlong.remove(cooked.poll()); // read as stdin: a command's input is not refused
      cookedPos = 0;
    }
    lock.notifyAll();
  }

  private static int indexOf(byte[] a, int from, byte b) {
    for (int i = from; i < a.length; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private void await() throws InterruptedIOException {
    try {
      lock.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for input");
    }
  }
}
