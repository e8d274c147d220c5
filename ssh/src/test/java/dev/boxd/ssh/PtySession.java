package dev.boxd.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * ssh on a real pseudo-terminal (pty_driver.py), driven like expect: send keys, wait for output,
 * resize the window. Everything the terminal showed is kept for assertions and failure messages.
 */
final class PtySession implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private final Process process;
  private final OutputStream keys;
  private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
  private int mark;

  private PtySession(Process process) {
    this.process = process;
    this.keys = process.getOutputStream();
    Thread.ofVirtual().start(() -> {
      byte[] buf = new byte[4096];
      try (var in = process.getInputStream()) {
        int n;
        while ((n = in.read(buf)) != -1) {
          synchronized (screen) {
            screen.write(buf, 0, n);
            screen.notifyAll();
          }
        }
      } catch (IOException e) {
        // process gone
      }
    });
  }

  static boolean available() {
    return Files.isExecutable(python());
  }

  static PtySession start(int rows, int cols, List<String> sshArgv) {
    var argv = new ArrayList<>(List.of(python().toString(), driver().toString(), Integer.toString(rows), Integer.toString(cols)));
    argv.addAll(sshArgv);
    try {
      return new PtySession(new ProcessBuilder(argv).redirectErrorStream(true).start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path python() {
    return Path.of("/usr/bin/python3");
  }

  private static Path driver() {
    return dev.boxd.testkit.PtyClient.driver();
  }


  PtySession send(String text) {
    return send(text.getBytes(StandardCharsets.UTF_8));
  }

  PtySession send(byte[] bytes) {
    try {
      keys.write(bytes);
      keys.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the terminal is gone; it showed:\n" + screen(), e);
    }
    return this;
  }

  PtySession resize(int rows, int cols) {
    return send(("\u00ffR" + rows + "," + cols + "\n").getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Waits until the output after the last expect contains {@code text}; returns what came up to and including it. */
  String expect(String text) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    synchronized (screen) {
      while (true) {
        String all = screen.toString(StandardCharsets.UTF_8);
        int at = all.indexOf(text, mark);
        if (at >= 0) {
          String seen = all.substring(mark, at + text.length());
          mark = at + text.length();
          return seen;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("expected " + printable(text) + " on the terminal; it showed:\n" + printable(all.substring(mark)));
        }
        try {
          screen.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  String screen() {
    synchronized (screen) {
      return screen.toString(StandardCharsets.UTF_8);
    }
  }

  int waitFor() {
    try {
      if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
        throw new AssertionError("ssh did not end; the terminal showed:\n" + printable(screen()));
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static String printable(String s) {
    return s.replace("\r", "\\r").replace("\u001b", "\\e").replace("\u0007", "\\a");
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
