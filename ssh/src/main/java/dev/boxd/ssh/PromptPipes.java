package dev.boxd.ssh;

import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Terminal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The {@code boxd>} prompt without a PTY: lines are read from the channel, and the verbs get an
 * empty stdin (the rest of the input is more prompt lines, not a command's input).
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
    return Terminal.readLineFrom(lines);
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
