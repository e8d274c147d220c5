package dev.boxd.verbs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/** Runs one verb against a recording Operations and keeps what it printed. */
final class Run {
  final int exit;
  final String out;
  final String err;
  final byte[] outBytes;
  final List<String> prompts;

  private Run(int exit, byte[] out, String err, List<String> prompts) {
    this.exit = exit;
    this.outBytes = out;
    this.out = new String(out, StandardCharsets.UTF_8);
    this.err = err;
    this.prompts = prompts;
  }

  static Run of(Operations ops, String... argv) {
    return with(ops, new byte[0], Optional.empty(), List.of(), argv);
  }

  static Run with(Operations ops, byte[] stdin, Optional<Operations.Tty> tty, List<String> answers, String... argv) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var in = new ByteArrayInputStream(stdin);
    Deque<String> queue = new ArrayDeque<>(answers);
    var prompts = new java.util.ArrayList<String>();
    var pipes = Terminal.pipes(in, out, err);
    Terminal terminal = new Terminal() {
      @Override
      public InputStream in() {
        return in;
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
      public Optional<Operations.Tty> tty() {
        return tty;
      }

      @Override
      public Optional<String> readLine(String prompt) {
        prompts.add(prompt);
        return Optional.ofNullable(queue.poll());
      }

      @Override
      public Raw raw() {
        return pipes.raw();
      }
    };
    int exit = Verbs.run(List.of(argv), ops, terminal);
    return new Run(exit, out.toByteArray(), err.toString(StandardCharsets.UTF_8), prompts);
  }

  JsonNode json() {
    try {
      return new ObjectMapper().readTree(out);
    } catch (IOException e) {
      throw new AssertionError("stdout is not JSON: " + out, e);
    }
  }

  @Override
  public String toString() {
    return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
  }
}
