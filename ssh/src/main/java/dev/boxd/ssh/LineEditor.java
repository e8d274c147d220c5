package dev.boxd.ssh;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The editing half of a terminal's line discipline, with no threads and no IO: keys in, echo and
 * events out. It keeps the line being typed; Enter (CR, LF or CR LF) finishes it, backspace and
 * DEL erase one character (a whole UTF-8 sequence), Ctrl-U the line, Ctrl-W a word; Ctrl-C drops
 * the line and is an interrupt; Ctrl-D ends input on an empty line and otherwise hands the line
 * over without a newline; arrow and function keys (escape sequences) and other control keys are
 * swallowed. Keys past {@link #MAX_LINE} ring the bell and mark the line overlong.
 *
 * <p>{@link LineDiscipline} pumps the channel through it and queues what it produces.
 */
final class LineEditor {
  /**
   * Longest line, as a tty's canonical buffer; keys past it ring the bell and make the line
   * overlong: a prompt refuses it whole rather than run what fitted.
   */
  static final int MAX_LINE = 4096;

  private static final byte CTRL_C = 0x03;
  private static final byte CTRL_D = 0x04;
  private static final byte BS = 0x08;
  private static final byte CTRL_U = 0x15;
  private static final byte CTRL_W = 0x17;
  private static final byte ESC = 0x1b;
  private static final byte DEL = 0x7f;
  private static final byte BELL = 0x07;
  private static final byte[] ERASE = {'\b', ' ', '\b'};
  private static final byte[] INTERRUPT_ECHO = {'^', 'C', '\r', '\n'};

  /** What a key did besides echo. */
  sealed interface Event {}

  /**
   * A finished line: with its trailing {@code \n} after Enter, without it after Ctrl-D.
   * {@code overlong} when keys past {@link #MAX_LINE} were dropped from it.
   */
  record Line(byte[] bytes, boolean overlong) implements Event {}

  /** Ctrl-D on an empty line. */
  record EndOfInput() implements Event {}

  /** Ctrl-C: the line was dropped. */
  record Interrupt() implements Event {}

  /** The result of {@link #feed}: bytes to echo to the screen, then the events in key order. */
  record Edit(byte[] echo, List<Event> events) {}

  private final byte[] line = new byte[MAX_LINE];
  private int lineLength;
  private boolean lineOverflowed; // keys were dropped from the line being edited
  private boolean afterCr; // a LF right after CR is the same Enter
  private int escape; // 0: none, 1: after ESC, 2: in ESC [ ... , 3: after ESC O

  /** Edits with {@code n} keys from {@code keys[0..n)}. */
  Edit feed(byte[] keys, int n) {
    var echo = new ByteArrayOutputStream();
    var events = new ArrayList<Event>();
    for (int i = 0; i < n; i++) {
      key(keys[i], echo, events);
    }
    return new Edit(echo.toByteArray(), List.copyOf(events));
  }

  /** The line typed so far (for tests and diagnostics). */
  byte[] pending() {
    return Arrays.copyOf(line, lineLength);
  }

  private void key(byte b, ByteArrayOutputStream echo, List<Event> events) {
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
        echo.writeBytes(INTERRUPT_ECHO);
        events.add(new Interrupt());
      }
      case CTRL_D -> {
        events.add(lineLength == 0 ? new EndOfInput() : finishLine(Arrays.copyOf(line, lineLength)));
        lineLength = 0;
      }
      case '\r', '\n' -> {
        afterCr = b == '\r';
        echo.write('\r');
        echo.write('\n');
        byte[] done = Arrays.copyOf(line, lineLength + 1);
        done[lineLength] = '\n';
        lineLength = 0;
        events.add(finishLine(done));
      }
      case DEL, BS -> eraseChar(echo);
      case CTRL_U -> {
        while (lineLength > 0) {
          eraseChar(echo);
        }
        lineOverflowed = false;
      }
      case CTRL_W -> {
        while (lineLength > 0 && line[lineLength - 1] == ' ') {
          eraseChar(echo);
        }
        while (lineLength > 0 && line[lineLength - 1] != ' ') {
          eraseChar(echo);
        }
      }
      case ESC -> escape = 1;
      default -> {
        if ((b & 0xff) < 0x20) {
          return; // other control keys do nothing
        }
        if (lineLength == MAX_LINE) {
          echo.write(BELL);
          lineOverflowed = true;
          return;
        }
        line[lineLength++] = b;
        echo.write(b);
      }
    }
  }

  // A line that lost keys is reported overlong; the next line starts afresh.
  private Line finishLine(byte[] done) {
    boolean overlong = lineOverflowed;
    lineOverflowed = false;
    return new Line(done, overlong);
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
  private void eraseChar(ByteArrayOutputStream echo) {
    if (lineLength == 0) {
      return;
    }
    do {
      lineLength--;
    } while (lineLength > 0 && (line[lineLength] & 0xc0) == 0x80);
    echo.writeBytes(ERASE);
  }
}
