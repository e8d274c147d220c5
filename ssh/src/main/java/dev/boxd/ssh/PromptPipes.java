package dev.boxd.ssh;

import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Terminal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The {@code boxd>} prompt without a PTY: lines are read from the channel, and the verbs get an
 * empty stdin (the rest of the input is more prompt lines, not a command's input). A line over
 * {@link Terminal#MAX_LINE} bytes is an error, and nothing of it runs.
 */
final class PromptPipes implements Terminal {
  private final InputStream lines;
  private final OutputStream out;
  private final OutputStream err;

  PromptPipes(InputStream lines, OutputStream out, OutputStream err) {
    this.lines = lines;
    this.out = out;
    this.err = err;
  }

  @Override
  public InputStream in() {
    return InputStream.nullInputStream();
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
  public Optional<Tty> tty() {
    return Optional.empty();
  }

  @Override
  public Optional<String> readLine(String prompt) throws IOException {
    out.write(prompt.getBytes(StandardCharsets.UTF_8));
    return readLine(lines);
  }

  /**
   * One line, byte by byte (nothing after it is consumed); empty at end of input. A line longer
   * than {@link Terminal#MAX_LINE} is read to its end and refused whole: running what fits would
   * run a command the user never wrote.
   */
  static Optional<String> readLine(InputStream in) throws IOException {
    var line = new ByteArrayOutputStream();
    long length = 0;
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      if (length++ < Terminal.MAX_LINE) {
        line.write(b);
      }
    }
    if (b == -1 && length == 0) {
      return Optional.empty();
    }
    if (length > Terminal.MAX_LINE) {
      throw Prompt.lineTooLong(Terminal.MAX_LINE);
    }
    String text = line.toString(StandardCharsets.UTF_8);
    return Optional.of(text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
  }

  @Override
  public Raw raw() {
    return new Raw() {
      @Override
      public InputStream in() {
        return InputStream.nullInputStream();
      }

      @Override
      public OutputStream out() {
        return out;
      }

      @Override
      public void close() {}
    };
  }
}
