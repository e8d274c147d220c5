package dev.boxd.os;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a host tool ({@code ip}, {@code nft}, {@code qemu-img}, ...) to completion. Output is
 * captured whole, so this is for short control commands, not for streams.
 */
public final class HostCommand {
  private static final Logger log = LoggerFactory.getLogger(HostCommand.class);
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /** What a finished command printed and returned. */
  public record Result(List<String> argv, int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** Returns this result, or throws naming the command and what it printed on stderr. */
    public Result orThrow() {
      if (!ok()) {
        throw new HostCommandException(this);
      }
      return this;
    }
  }

  /** A host command that exited non-zero; the message carries its stderr. */
  public static final class HostCommandException extends RuntimeException {
    private final transient Result result;

    HostCommandException(Result result) {
      super(String.join(" ", result.argv()) + " exited " + result.exitCode() + ": " + result.stderr().strip());
      this.result = result;
    }

    public Result result() {
      return result;
    }
  }

  private HostCommand() {}

  /** Runs and throws if the command fails. */
  public static Result run(String... argv) {
    return exec(List.of(argv), null, DEFAULT_TIMEOUT).orThrow();
  }

  /** Runs and returns the result whatever the exit code. */
  public static Result tryRun(String... argv) {
    return exec(List.of(argv), null, DEFAULT_TIMEOUT);
  }

  /** Runs with the given bytes on stdin and throws if the command fails. */
  public static Result runWithInput(byte[] stdin, String... argv) {
    return exec(List.of(argv), stdin, DEFAULT_TIMEOUT).orThrow();
  }

  public static Result exec(List<String> argv, byte[] stdin, Duration timeout) {
    log.debug("run {}", argv);
    Process process;
    try {
      process = new ProcessBuilder(argv).redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new java.io.File("/dev/null")) : ProcessBuilder.Redirect.PIPE).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + argv.getFirst() + ": " + e.getMessage(), e);
    }
    try {
      if (stdin != null) {
        try (var in = process.getOutputStream()) {
          in.write(stdin);
        }
      }
      var out = drain(process.getInputStream());
      var err = drain(process.getErrorStream());
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(argv.getFirst() + " did not finish within " + timeout);
      }
      return new Result(argv, process.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + argv.getFirst(), e);
    }
  }

  private static java.util.concurrent.CompletableFuture<String> drain(InputStream stream) {
    var future = new java.util.concurrent.CompletableFuture<String>();
    Thread.ofVirtual().start(() -> {
      try (stream) {
        var buffer = new ByteArrayOutputStream();
        stream.transferTo(buffer);
        future.complete(buffer.toString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        future.complete("");
      }
    });
    return future;
  }
}
