package dev.boxd.ssh;

import dev.boxd.verbs.Terminal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;

/**
 * The part of a terminal that a kernel's line discipline plays, played by the server: with a PTY
 * the client's terminal is raw, so echo, line editing, Ctrl-C and Ctrl-D are ours. The editing
 * itself is {@link LineEditor}'s; this class is the pump around it. A pump thread reads the
 * channel; in cooked mode it passes keys through the editor, echoes, and queues the lines for
 * {@link #cookedIn()} and {@link #readLine}, in raw mode ({@link #raw}) it queues bytes untouched
 * for a remote terminal. Ctrl-C ends a {@code readLine} with an empty line, otherwise runs the
 * interrupt handler (which interrupts the running verb).
 */
final class LineDiscipline implements AutoCloseable {
  /** Longest line: {@link LineEditor#MAX_LINE}. */
  static final int MAX_LINE = LineEditor.MAX_LINE;
  /** Input queued for a reader that does not read; the pump (and so the SSH window) waits past it. */
  private static final int MAX_QUEUED = 1 << 20;
  private static final byte[] EOF = new byte[0];

  private final InputStream source;
  private final OutputStream echo;
  private final Object lock = new Object();
  private final LineEditor editor = new LineEditor();
  // Finished lines that lost keys past MAX_LINE (by identity): readLine refuses them.
  private final Set<byte[]> overlong = Collections.newSetFromMap(new IdentityHashMap<>());
  private final ArrayDeque<byte[]> cooked = new ArrayDeque<>();
  private int cookedPos;
  private final ArrayDeque<byte[]> rawQueue = new ArrayDeque<>();
  private int rawPos;
  private long queued;
  private RawMode raw;
  private boolean ended;
  private boolean readingLine;
  private boolean lineInterrupted;
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
    return new QueuedInput((b, off, len) -> {
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
    });
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
  Terminal.Raw raw(OutputStream out) {
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

  private final class RawMode implements Terminal.Raw {
    private final OutputStream out;
    private boolean closed;

    RawMode(OutputStream out) {
      this.out = out;
    }

    @Override
    public InputStream in() {
      return new QueuedInput((b, off, len) -> {
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
      });
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
    LineEditor.Edit edit;
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
      edit = editor.feed(buf, n);
    }
    if (edit.echo().length > 0) {
      echo.write(edit.echo());
    }
    boolean interrupt = false;
    synchronized (lock) {
      for (LineEditor.Event event : edit.events()) {
        switch (event) {
          case LineEditor.Line line -> {
            byte[] bytes = line.bytes();
            if (line.overlong()) {
              overlong.add(bytes);
            }
            cooked.add(bytes);
            queued += bytes.length;
          }
          case LineEditor.EndOfInput end -> cooked.add(EOF);
          case LineEditor.Interrupt intr -> {
            if (readingLine) {
              lineInterrupted = true;
            } else {
              interrupt = true;
            }
          }
        }
      }
      lock.notifyAll();
    }
    if (interrupt) {
      onInterrupt.run();
    }
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

  /** Reads from a queue under the discipline's lock; returns -1 at its end. */
  @FunctionalInterface
  private interface LockedRead {
    int read(byte[] b, int off, int len) throws IOException;
  }

  // The cooked and the raw input differ only in which queue they drain.
  private final class QueuedInput extends InputStream {
    private final LockedRead drain;

    QueuedInput(LockedRead drain) {
      this.drain = drain;
    }

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
        return drain.read(b, off, len);
      }
    }
  }
}
