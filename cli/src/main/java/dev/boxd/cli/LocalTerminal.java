package dev.boxd.cli;

import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Terminal;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.SubmissionPublisher;

/**
 * The laptop's own terminal for the verbs: the process's standard streams (unbuffered: a verb's
 * output must appear as the VM prints it), the working directory for {@code cp}'s local paths, and
 * for connect / exec --tty the terminal itself: its size from {@code stty}, SIGWINCH for resizes,
 * raw mode while a remote terminal has it. The launcher says which streams are terminals
 * ({@code BOXD_TTY=012}, Java cannot ask isatty).
 */
final class LocalTerminal implements Terminal {
  private final InputStream in = new FileInputStream(FileDescriptor.in);
  private final OutputStream out = new FileOutputStream(FileDescriptor.out);
  private final OutputStream err = new FileOutputStream(FileDescriptor.err);

  static boolean isTerminal(int fd) {
    String ttys = System.getenv("BOXD_TTY");
    return ttys != null && ttys.indexOf((char) ('0' + fd)) >= 0;
  }

  @Override
  public InputStream in() {
    return in;
  }

  @Override
  public OutputStream out() {
    return out;
  }

  @Override
  public OutputStream err() {
    return err;
  }

  @Override
  public Optional<Operations.Tty> tty() {
    if (!isTerminal(0) || !isTerminal(1)) {
      return Optional.empty();
    }
    String term = Optional.ofNullable(System.getenv("TERM")).filter(t -> !t.isBlank()).orElse("xterm-256color");
    var resizes = new SubmissionPublisher<Operations.WindowSize>();
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), signal -> size().ifPresent(size -> resizes.offer(size, null)));
    } catch (IllegalArgumentException e) {
      // no SIGWINCH here: the size stays what it was at the start
    }
    return Optional.of(new Operations.Tty(term, size().orElse(new Operations.WindowSize(80, 24)), resizes));
  }

  private static Optional<Operations.WindowSize> size() {
    try {
      String[] rowsCols = stty("size").strip().split("\\s+");
      return Optional.of(new Operations.WindowSize(Integer.parseInt(rowsCols[1]), Integer.parseInt(rowsCols[0])));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static String stty(String... args) throws IOException {
    var command = new java.util.ArrayList<String>();
    command.add("stty");
    command.addAll(java.util.List.of(args));
    Process p = new ProcessBuilder(command).redirectInput(new File("/dev/tty")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IOException("stty " + String.join(" ", args) + " failed");
      }
      return output;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public Optional<String> readLine(String prompt) throws IOException {
    err.write(prompt.getBytes(StandardCharsets.UTF_8));
    err.flush();
    return Terminal.readLineFrom(in);
  }

  @Override
  public Raw raw() {
    String saved;
    try {
      saved = isTerminal(0) ? stty("-g").strip() : null;
      if (saved != null) {
        stty("raw", "-echo");
      }
    } catch (IOException e) {
      saved = null;
    }
    String restore = saved;
    return new Raw() {
      @Override
      public InputStream in() {
        return in;
      }

      @Override
      public OutputStream out() {
        return out;
      }

      @Override
      public void close() {
        if (restore != null) {
          try {
            stty(restore);
          } catch (IOException e) {
            // the terminal is gone; nothing to give back
          }
        }
      }
    };
  }

  @Override
  public Optional<Path> localFiles() {
    return Optional.of(Path.of("").toAbsolutePath());
  }
}
