package dev.boxd.verbs;

import java.io.IOException;

/** One verb: how it is written and what it does. Each is defined once, in one of the *Verbs classes. */
record Verb(Syntax syntax, Action action) {

  @FunctionalInterface
  interface Action {
    /** Returns the exit code; failures are thrown as BoxdException. */
    int run(Call call) throws IOException;
  }
}
