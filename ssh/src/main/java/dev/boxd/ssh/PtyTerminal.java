package dev.boxd.ssh;

import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Terminal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Supplier;

/** The user's terminal over an SSH channel with a PTY: cooked input from the line discipline, CR LF output. */
final class PtyTerminal implements Terminal {
  private final LineDiscipline discipline;
  private final ChannelOutput out;
  private final ChannelOutput err;
  private final Supplier<Tty> tty;

  PtyTerminal(LineDiscipline discipline, ChannelOutput out, ChannelOutput err, Supplier<Tty> tty) {
    this.discipline = discipline;
    this.out = out;
    this.err = err;
    this.tty = tty;
  }

  @Override
  public InputStream in() {
    return discipline.cookedIn();
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
    return Optional.of(tty.get());
  }

  @Override
  public Optional<String> readLine(String prompt) throws IOException {
    out.write(prompt.getBytes(StandardCharsets.UTF_8));
    return discipline.readLine();
  }

  @Override
  public Raw raw() {
    return discipline.raw(out.raw());
  }
}
