package dev.boxd.ssh;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.testing.FakeOperations.Builder;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The shared fake Operations set up to observe what the transport delivered. exec understands a
 * few commands of its own: {@code exit N}, {@code echo WORDS}, {@code both} (a line to stdout and
 * one to stderr), {@code cat}, {@code sleep}, {@code tty} (the terminal it got, then window
 * changes until stdin ends) and {@code exec bash -l} (a fake login shell that echoes keys until
 * Ctrl-D); uploads are digested into {@link #uploads}; the file {@code big} can be downloaded.
 */
final class FakeOperations extends dev.boxd.verbs.testing.FakeOperations {
  /** Files {@code big} and {@code big2} on every VM: this many deterministic bytes. */
  static final int BIG = 50 << 20;

  final BlockingQueue<Upload> uploads = new LinkedBlockingQueue<>();
  final BlockingQueue<String> events = new LinkedBlockingQueue<>();

  /** What an upload received: its bytes and digest, or the failure that ended it. */
  record Upload(String path, long bytes, String sha256, String failure) {}

  FakeOperations() {
    super(answers().vm("app", "running"));
  }

  // How VMs look and what the verbs answer here; the exec, upload and download bodies are below.
  private static Builder answers() {
    return dev.boxd.verbs.testing.FakeOperations.builder()
        .vmView((name, status) -> new VmView("vm-" + name, name, status, "10.77.0.2", null, "debian-12", "https://" + name + ".boxd.test",
            48, 2, 1024, 100, "2026-01-01T00:00:00Z", 30))
        .notFound(vm -> "VM " + vm + " not found")
        .generatedName("quiet-fox")
        .detailedCalls()
        .pauseMicros(640)
        .resumeMicros(85)
        .powerChangesStatus()
        .whoami(new Whoami("user-1", "alice", List.of("SHA256:fake")));
  }

  static VmView vm(String name, String status) {
    return answers().build().view(name, status);
  }

  @Override
  protected int runExec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    try {
      return run(spec, stdin, stdout, stderr);
    } catch (InterruptedIOException | InterruptedException e) {
      Thread.currentThread().interrupt();
      events.add("exec interrupted");
      throw new BoxdException(dev.boxd.core.ErrorCode.UNAVAILABLE, "interrupted");
    } catch (IOException e) {
      events.add("exec stream failed: " + e.getMessage());
      throw new UncheckedIOException(e);
    }
  }

  private int run(ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr)
      throws IOException, InterruptedException {
    String cmd = spec.command();
    if (cmd.startsWith("exit ")) {
      return Integer.parseInt(cmd.substring(5).trim());
    }
    if (cmd.startsWith("echo ")) {
      stdout.write((cmd.substring(5) + "\n").getBytes(StandardCharsets.UTF_8));
      return 0;
    }
    switch (cmd) {
      case "both" -> {
        stdout.write("to stdout\n".getBytes(StandardCharsets.UTF_8));
        stderr.write("to stderr\n".getBytes(StandardCharsets.UTF_8));
        return 3;
      }
      case "cat" -> {
        stdin.transferTo(stdout);
        return 0;
      }
      case "sleep" -> {
        events.add("sleeping");
        Thread.sleep(60_000);
        return 0;
      }
      case "tty", "exec bash -l" -> {
        return terminal(spec, stdin, stdout);
      }
      default -> {
        stderr.write(("fake: unknown command: " + cmd + "\n").getBytes(StandardCharsets.UTF_8));
        return 127;
      }
    }
  }

  // Prints the terminal it was given and every window change; echoes input until Ctrl-D or EOF.
  private int terminal(ExecSpec spec, InputStream stdin, OutputStream stdout) throws IOException {
    var tty = spec.tty().orElseThrow();
    stdout.write(("tty " + tty.term() + " " + tty.size().cols() + "x" + tty.size().rows() + "\r\n").getBytes(StandardCharsets.UTF_8));
    tty.resizes().subscribe(new Flow.Subscriber<>() {
      private Flow.Subscription subscription;

      @Override
      public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(WindowSize size) {
        events.add("resize " + size.cols() + "x" + size.rows());
        try {
          synchronized (stdout) {
            stdout.write(("resize " + size.cols() + "x" + size.rows() + "\r\n").getBytes(StandardCharsets.UTF_8));
          }
        } catch (IOException e) {
          subscription.cancel();
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onComplete() {}
    });
    int b;
    while ((b = stdin.read()) != -1 && b != 0x04) {
      synchronized (stdout) {
        stdout.write(b == '\r' ? new byte[] {'\r', '\n'} : new byte[] {(byte) b});
      }
    }
    return 0;
  }

  @Override
  protected long receive(String vm, String path, int mode, InputStream data) {
    MessageDigest sha = sha256();
    long bytes = 0;
    byte[] buf = new byte[64 * 1024];
    try {
      int n;
      while ((n = data.read(buf)) != -1) {
        sha.update(buf, 0, n);
        bytes += n;
        if (path.equals("slow")) {
          events.add("received " + bytes);
        }
      }
    } catch (IOException e) {
      uploads.add(new Upload(path, bytes, null, e.getMessage()));
      throw new UncheckedIOException(e);
    }
    uploads.add(new Upload(path, bytes, HexFormat.of().formatHex(sha.digest()), null));
    return bytes;
  }

  @Override
  protected long send(String vm, String path, OutputStream sink) {
    if (!path.equals("big")) {
      throw BoxdException.notFound("no file " + path + " in " + vm);
    }
    try {
      long n = 0;
      var random = new Random(42);
      byte[] chunk = new byte[64 * 1024];
      while (n < BIG) {
        random.nextBytes(chunk);
        int len = (int) Math.min(chunk.length, BIG - n);
        sink.write(chunk, 0, len);
        n += len;
      }
      return n;
    } catch (IOException e) {
      events.add("download failed: " + e.getMessage());
      throw new UncheckedIOException(e);
    }
  }

  /** The SHA-256 of the {@code big} file, as the download sends it. */
  static String bigSha256() {
    MessageDigest sha = sha256();
    var random = new Random(42);
    byte[] chunk = new byte[64 * 1024];
    for (long n = 0; n < BIG; n += chunk.length) {
      random.nextBytes(chunk);
      sha.update(chunk, 0, (int) Math.min(chunk.length, BIG - n));
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
