package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.ssh.LineEditor.Edit;
import dev.boxd.ssh.LineEditor.EndOfInput;
import dev.boxd.ssh.LineEditor.Event;
import dev.boxd.ssh.LineEditor.Interrupt;
import dev.boxd.ssh.LineEditor.Line;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineEditorTest {
  private final LineEditor editor = new LineEditor();

  @Test
  void enterFinishesTheLineWithANewlineAndEchoesCrLf() {
    Edit edit = type("ls\r");
    assertThat(edit.echo()).isEqualTo(bytes("ls\r\n"));
    assertThat(lines(edit)).containsExactly("ls\n");
  }

  @Test
  void crLfIsOneEnterButLfAloneAndCrCrAreEach() {
    assertThat(lines(type("a\r\nb\nc\r\r"))).containsExactly("a\n", "b\n", "c\n", "\n");
  }

  @Test
  void aLfInALaterFeedAfterCrIsStillTheSameEnter() {
    assertThat(lines(type("a\r"))).containsExactly("a\n");
    Edit next = type("\nb\r");
    assertThat(lines(next)).containsExactly("b\n");
    assertThat(next.echo()).isEqualTo(bytes("b\r\n"));
  }

  @Test
  void backspaceAndDelEraseOneCharacterOnLineAndScreen() {
    Edit edit = type("abc\b\u007fd\r");
    assertThat(lines(edit)).containsExactly("ad\n");
    assertThat(edit.echo()).isEqualTo(bytes("abc\b \b\b \bd\r\n"));
  }

  @Test
  void backspaceOnAnEmptyLineEchoesNothing() {
    Edit edit = type("\b\u007f");
    assertThat(edit.echo()).isEmpty();
    assertThat(edit.events()).isEmpty();
  }

  @Test
  void backspaceErasesAWholeUtf8Character() {
    Edit edit = type("né\b\r");
    assertThat(lines(edit)).containsExactly("n\n");
    assertThat(edit.echo()).isEqualTo(concat(bytes("né"), bytes("\b \b\r\n")));
    assertThat(lines(type("€😀\b\r"))).containsExactly("€\n");
  }

  @Test
  void multibyteCharactersPassThroughWhole() {
    assertThat(lines(type("héllo wörld ✓\r"))).containsExactly("héllo wörld ✓\n");
  }

  @Test
  void ctrlUErasesTheLine() {
    Edit edit = type("abc\u0015x\r");
    assertThat(lines(edit)).containsExactly("x\n");
    assertThat(edit.echo()).isEqualTo(bytes("abc\b \b\b \b\b \bx\r\n"));
  }

  @Test
  void ctrlWErasesTheLastWordAndTheSpacesAfterIt() {
    assertThat(lines(type("rm -rf  \u0017ls\r"))).containsExactly("rm ls\n");
  }

  @Test
  void ctrlCDropsTheLineAndIsAnInterrupt() {
    Edit edit = type("half\u0003next\r");
    assertThat(edit.echo()).isEqualTo(bytes("half^C\r\nnext\r\n"));
    assertThat(edit.events()).hasSize(2);
    assertThat(edit.events().get(0)).isInstanceOf(Interrupt.class);
    assertThat(text(edit.events().get(1))).isEqualTo("next\n");
  }

  @Test
  void ctrlDOnAnEmptyLineEndsInputAndOtherwiseHandsTheLineOverWithoutNewline() {
    assertThat(type("\u0004").events()).containsExactly(new EndOfInput());
    Edit edit = type("abc\u0004");
    assertThat(lines(edit)).containsExactly("abc");
    assertThat(edit.echo()).isEqualTo(bytes("abc"));
    assertThat(type("\u0004").events()).containsExactly(new EndOfInput());
  }

  @Test
  void arrowAndFunctionKeysAndOtherControlKeysAreSwallowed() {
    // up arrow, F1 (ESC O P), alt-x (ESC x), F5 (ESC [ 1 5 ~), a tab and a bell
    Edit edit = type("a\u001b[A\u001bOPb\u001bxc\u001b[15~\t\u0007d\r");
    assertThat(lines(edit)).containsExactly("abcd\n");
    assertThat(edit.echo()).isEqualTo(bytes("abcd\r\n"));
  }

  @Test
  void anEscapeSequenceSplitAcrossFeedsIsStillSwallowed() {
    type("a\u001b[");
    assertThat(lines(type("Bb\r"))).containsExactly("ab\n");
  }

  @Test
  void keysPastTheLimitRingTheBellAndMakeTheLineOverlong() {
    Edit full = type("x".repeat(LineEditor.MAX_LINE));
    assertThat(full.echo()).hasSize(LineEditor.MAX_LINE);
    Edit past = type("yz\r");
    assertThat(past.echo()).isEqualTo(bytes("\u0007\u0007\r\n"));
    Line line = (Line) past.events().getFirst();
    assertThat(line.overlong()).isTrue();
    assertThat(line.bytes()).hasSize(LineEditor.MAX_LINE + 1);

    Line next = (Line) type("ok\r").events().getFirst();
    assertThat(next.overlong()).isFalse();
  }

  @Test
  void aLineOfExactlyTheLimitIsNotOverlong() {
    Line line = (Line) type("x".repeat(LineEditor.MAX_LINE) + "\r").events().getFirst();
    assertThat(line.overlong()).isFalse();
  }

  @Test
  void ctrlUAndCtrlCForgetThatTheLineOverflowed() {
    type("x".repeat(LineEditor.MAX_LINE + 1) + "\u0015");
    assertThat(((Line) type("a\r").events().getFirst()).overlong()).isFalse();
    type("x".repeat(LineEditor.MAX_LINE + 1) + "\u0003");
    assertThat(((Line) type("a\r").events().getFirst()).overlong()).isFalse();
  }

  @Test
  void feedOnlyReadsTheGivenCount() {
    byte[] keys = bytes("ab\rcd\r");
    Edit edit = editor.feed(keys, 3);
    assertThat(lines(edit)).containsExactly("ab\n");
    assertThat(editor.pending()).isEmpty();
  }

  private Edit type(String keys) {
    byte[] b = bytes(keys);
    return editor.feed(b, b.length);
  }

  private static List<String> lines(Edit edit) {
    List<String> out = new ArrayList<>();
    for (Event e : edit.events()) {
      out.add(text(e));
    }
    return out;
  }

  private static String text(Event e) {
    return new String(((Line) e).bytes(), StandardCharsets.UTF_8);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
