package dev.boxd.verbs;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * One verb: how it is written and what it does. Each is defined once, in one of the *Verbs classes.
 * A noun ({@code machine}) has verbs of its own, {@code subVerbs}, chosen by the word after it;
 * its own action runs only when that word is missing.
 */
record Verb(Syntax syntax, Action action, List<Verb> subVerbs) {

  @FunctionalInterface
  interface Action {
    /** Returns the exit code; failures are thrown as BoxdException. */
    int run(Call call) throws IOException;
  }

  Verb {
    subVerbs = List.copyOf(subVerbs);
  }

  Verb(Syntax syntax, Action action) {
    this(syntax, action, List.of());
  }

  boolean noun() {
    return !subVerbs.isEmpty();
  }

  /** The sub-verb a word names: {@code list} or its alias {@code ls} under {@code machine}. */
  Optional<Verb> subVerb(String word) {
    return subVerbs.stream().filter(v -> v.syntax().name().equals(syntax.name() + " " + word) || v.syntax().aliases().contains(word))
        .findFirst();
  }

  /** The sub-verbs' own words, in help order: {@code new, list, get}. */
  List<String> subVerbWords() {
    return subVerbs.stream().map(v -> v.syntax().name().substring(syntax.name().length() + 1)).toList();
  }
}
