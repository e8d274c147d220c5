package dev.boxd.verbs;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** One invocation of a verb: its parsed arguments, the caller's operations and terminal, and how to answer. */
record Call(Syntax syntax, Args args, Operations ops, Terminal terminal) {

  boolean json() {
    return args.has("json");
  }

  /** Writes text to stdout. */
  void print(String text) throws IOException {
    write(terminal.out(), text);
  }

  /** Writes text to stderr. */
  void note(String text) throws IOException {
    write(terminal.err(), text);
  }

  /** Writes one JSON document and a newline to stdout. */
  void printJson(Object document) throws IOException {
    print(Json.write(document) + "\n");
  }

  /** The positional at {@code index} as a VM name or id. */
  String vm(int index) {
    return Values.vmRef(args.positionals().get(index));
  }

  static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
