package dev.boxd.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void acceptsDnsLabels() {
    assertThat(Names.isValid("app")).isTrue();
    assertThat(Names.isValid("a")).isTrue();
    assertThat(Names.isValid("worker-1")).isTrue();
    assertThat(Names.isValid("a".repeat(63))).isTrue();
  }

  @Test
  void rejectsEverythingElse() {
    assertThat(Names.isValid("")).isFalse();
    assertThat(Names.isValid(null)).isFalse();
    assertThat(Names.isValid("-app")).isFalse();
    assertThat(Names.isValid("app-")).isFalse();
    assertThat(Names.isValid("App")).isFalse();
    assertThat(Names.isValid("a_b")).isFalse();
    assertThat(Names.isValid("a".repeat(64))).isFalse();
    assertThat(Names.isValid("a.b")).isFalse();
  }

  @Test
  void errorNamesTheValueAndTheRule() {
    assertThatThrownBy(() -> Names.requireValid("VM name", "Bad\nName"))
        .isInstanceOf(BoxdException.class)
        .hasMessageContaining("\"Bad\\x0aName\"")
        .hasMessageContaining("a-z, 0-9");
  }
}
