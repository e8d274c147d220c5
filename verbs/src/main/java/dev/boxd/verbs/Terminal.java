package dev.boxd.verbs;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The user's side of a verb, as a transport provides it: standard streams, and the terminal when
 * the user has one. On a terminal, {@link #in()} is cooked (echoed, line-edited, Ctrl-D ends it)
 * and {@link #out()} translates newlines as a terminal expects; {@link #raw()} hands the terminal
 * over to a remote one (connect, exec --tty) byte for byte.
 */
public interface Terminal {

  InputStream in();

  OutputStream out();

  OutputStream err();

  /** The user's terminal (type, size, window changes) when there is one; empty for pipes. */
  Optional<Operations.Tty> tty();

  /** Shows {@code prompt} and reads one line without its newline; empty at the end of input. */
  Optional<String> readLine(String prompt) throws IOException;

  /** Input and output passed through untouched until closed. */
  Raw raw();

  /** Where local paths of {@code cp} resolve, for a transport that runs on the user's machine. */
  default Optional<Path> localFiles() {
    return Optional.empty();
  }

  /**
   * For a user who is a VM (the in-VM CLI): the working directory of the command inside that VM,
   * {@link Operations#currentVm()}. Local paths of {@code cp} resolve there, in that VM.
   */
  default Optional<String> workingDirectory() {
    return Optional.empty();
  }

  /** The terminal handed to a remote terminal; closing it gives the line discipline back. */
  interface Raw extends Closeable {
    InputStream in();

    OutputStream out();

    @Override
    void close();
  }

  /** Plain pipes: no terminal, no local files. */
  static Terminal pipes(InputStream in, OutputStream out, OutputStream err) {
    return new Terminal() {
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
        return Optional.empty();
      }

      @Override
      public Optional<String> readLine(String prompt) throws IOException {
        return readLineFrom(in);
      }

      @Override
      public Raw raw() {
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
          public void close() {}
        };
      }
    };
  }

  /** Longest line {@link #readLineFrom} returns; the rest of a longer line is dropped. */
  int MAX_LINE = 64 * 1024;

  /** Reads one UTF-8 line byte by byte (so nothing after it is consumed); empty at end of input. */
  static Optional<String> readLineFrom(InputStream in) throws IOException {
    var line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      if (line.size() < MAX_LINE) {
        line.write(b);
      }
    }
    if (b == -1 && line.size() == 0) {
      return Optional.empty();
    }
    String text = line.toString(StandardCharsets.UTF_8);
    return Optional.of(text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
  }
}
