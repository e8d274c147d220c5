package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Terminal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pump around the line editor, over a pipe: what readers of cooked and raw input get. */
class LineDisciplineTest {
  private final PipedOutputStream keys = new PipedOutputStream();
  private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
  private final LineDiscipline discipline;

  LineDisciplineTest() throws IOException {
    discipline = new LineDiscipline(new PipedInputStream(keys, 1 << 16), screen);
  }

  @AfterEach
  void close() throws IOException {
    keys.close();
    discipline.close();
  }

  @Test
  void readLineReturnsEditedLinesAndEmptyAtCtrlD() throws IOException {
    type("lsx\b -l\r\u0004");

    assertThat(discipline.readLine()).contains("ls -l");
    assertThat(discipline.readLine()).isEmpty();
  }

  @Test
  void theEchoOfALineIsOnTheScreenBeforeItIsRead() throws IOException {
    type("hi\r");

    assertThat(discipline.readLine()).contains("hi");
    synchronized (screen) {
      assertThat(screen.toString(StandardCharsets.UTF_8)).isEqualTo("hi\r\n");
    }
  }

  @Test
  void ctrlCWhileReadingALineGivesAnEmptyLineAndOtherwiseRunsTheHandler() throws Exception {
    type("half");
    var reading = CompletableFuture.supplyAsync(() -> {
      try {
        return discipline.readLine();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    // A Ctrl-C that arrives before the reader waits goes to the (no-op) handler: send until one lands.
    await().atMost(Duration.ofSeconds(5)).until(() -> {
      type("\u0003");
      return reading.isDone();
    });
    assertThat(reading.get()).contains("");

    var interrupted = new CountDownLatch(1);
    discipline.onInterrupt(interrupted::countDown);
    type("\u0003");
    assertThat(interrupted.await(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void anOverlongLineIsRefusedWholeAndTheNextLineIsRead() throws IOException {
    type("x".repeat(LineDiscipline.MAX_LINE + 10) + "\rok\r");

    assertThatThrownBy(discipline::readLine)
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    assertThat(discipline.readLine()).contains("ok");
  }

  @Test
  void cookedInputCarriesLinesWithTheirNewlineAndEndsAtCtrlD() throws IOException {
    type("one\rtwo\r\u0004");

    assertThat(new String(discipline.cookedIn().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("one\ntwo\n");
  }

  @Test
  void rawModeHandsKeysOverUntouchedAndUnechoed() throws IOException {
    try (Terminal.Raw raw = discipline.raw(OutputStream.nullOutputStream())) {
      type("a\u0003\b\r");
      InputStream in = raw.in();
      assertThat(in.readNBytes(4)).isEqualTo(new byte[] {'a', 3, 8, '\r'});
    }
    synchronized (screen) {
      assertThat(screen.size()).isZero();
    }
  }

  @Test
  void readersSeeTheEndWhenTheChannelCloses() throws IOException {
    type("partial");
    keys.close();

    assertThat(discipline.readLine()).isEqualTo(Optional.empty());
    assertThat(discipline.cookedIn().read()).isEqualTo(-1);
  }

  private void type(String s) throws IOException {
    keys.write(s.getBytes(StandardCharsets.UTF_8));
    keys.flush();
  }
}
