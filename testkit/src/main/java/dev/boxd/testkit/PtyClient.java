package dev.boxd.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
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
 * A command (usually {@code ssh -tt …}) on a real pseudo-terminal, driven like expect: keys in,
 * screen out, window resizes. The terminal is made by {@code pty_driver.py} (python3's pty
 * module), so the client behaves exactly as for a person at a terminal.
 */
public final class PtyClient implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final Process process;
  private final OutputStream keys;
  private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
  private int mark;

  private PtyClient(Process process) {
    this.process = process;
    this.keys = process.getOutputStream();
    Thread.ofPlatform().daemon().start(() -> {
      byte[] buffer = new byte[4096];
      try (InputStream in = process.getInputStream()) {
        int n;
        while ((n = in.read(buffer)) != -1) {
          synchronized (screen) {
            screen.write(buffer, 0, n);
            screen.notifyAll();
          }
        }
      } catch (IOException e) {
        // the command ended
      }
    });
  }

  /** Starts {@code argv} on a terminal of the given size. */
  public static PtyClient start(int rows, int cols, List<String> argv) {
    List<String> command = new ArrayList<>(List.of("python3", driver().toString(), Integer.toString(rows), Integer.toString(cols)));
    command.addAll(argv);
    try {
      return new PtyClient(new ProcessBuilder(command).redirectErrorStream(true).start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An ssh command line with {@code -tt} put before its last word (the host), as ssh wants it. */
  public static List<String> withTty(List<String> sshArgv, String host) {
    List<String> argv = new ArrayList<>(sshArgv);
    argv.add(argv.indexOf(host), "-tt");
    return argv;
  }

  /** The driver script, unpacked once per JVM from this jar. */
  public static synchronized Path driver() {
    try {
      Path file = Path.of(System.getProperty("java.io.tmpdir"), "boxd-pty-driver-" + ProcessHandle.current().pid() + ".py");
      if (!Files.exists(file)) {
        try (InputStream in = PtyClient.class.getResourceAsStream("pty_driver.py")) {
          Files.copy(in, file);
        }
        file.toFile().deleteOnExit();
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public PtyClient send(String text) {
    return send(text.getBytes(StandardCharsets.UTF_8));
  }

  /** Types raw bytes (control characters, invalid UTF-8). */
  public PtyClient send(byte[] bytes) {
    try {
      keys.write(bytes);
      keys.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the terminal is gone; it showed:\n" + printable(screen()), e);
    }
    return this;
  }

  /** Resizes the terminal; the kernel sends SIGWINCH to the command. */
  public PtyClient resize(int rows, int cols) {
    return send(("\u00ffR" + rows + "," + cols + "\n").getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Everything the terminal has shown so far. */
  public String screen() {
    synchronized (screen) {
      return screen.toString(StandardCharsets.UTF_8);
    }
  }

  /** Control characters made visible, for failure messages. */
  public static String printable(String s) {
    return s.replace("\r", "\\r").replace("\u001b", "\\e").replace("\u0007", "\\a");
  }

  /** Waits for {@code text} after the previous match; returns what came up to it. */
  public String expect(String text) {
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

  /** Waits for the command to end and returns its exit code. */
  public int waitFor() {
    try {
      if (!process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
        throw new AssertionError("the command on the terminal did not end within " + WAIT + "; it showed:\n" + printable(screen()));
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
