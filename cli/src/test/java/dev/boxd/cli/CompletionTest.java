package dev.boxd.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CompletionTest {
  private static final Completion.Names VMS = () -> List.of("app", "api", "web");

  @Test
  void completesVerbsNounsAndSubVerbs() {
    assertThat(Completion.candidatesFor(List.of("ma"), VMS)).containsExactly("machine");
    assertThat(Completion.candidatesFor(List.of("e"), VMS)).contains("exec", "expose");
    assertThat(Completion.candidatesFor(List.of("machine", "re"), VMS)).containsExactly("reboot", "resume", "remove");
    assertThat(Completion.candidatesFor(List.of("auth", ""), VMS)).containsExactly("login", "logout", "keys");
  }

  @Test
  void offersTheAccountsVmsWhereAVmIsExpected() {
    assertThat(Completion.candidatesFor(List.of("exec", "a"), VMS)).containsExactly("app", "api");
    assertThat(Completion.candidatesFor(List.of("machine", "get", ""), VMS)).containsExactly("app", "api", "web");
    assertThat(Completion.candidatesFor(List.of("exec", "app", ""), VMS)).isEmpty();
    assertThat(Completion.candidatesFor(List.of("new", ""), VMS)).isEmpty();
  }
}
