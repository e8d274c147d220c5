package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.verbs.ShellWords;
import dev.boxd.workerport.GuestCommand;
import dev.boxd.workerport.GuestProcess;
import dev.boxd.workerport.WorkerPort;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Copies a file or a directory tree from one VM to another through their agents, as user boxd in
 * /home/boxd on both sides. A file streams from the source's agent into the destination's with its
 * mode; a tree travels as a tar stream from {@code tar -c} in one guest to {@code tar -x} in the
 * other. Within one VM the guest copies by itself. The stream never touches the host's disk.
 */
final class VmToVmCopy {
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration NO_LIMIT = Duration.ofDays(365);
  private static final int PIPE_BUFFER = 1 << 20;

  /** One side: a VM's worker, its id, its name as the user wrote it, and a path in it. */
  record Side(WorkerPort worker, String vmId, String name, String path) {
    String shown() {
      return name + ":" + path;
    }
  }

  private VmToVmCopy() {}

  static long copy(Side src, Side dst) {
    String kind = probe(src);
    boolean sameVm = src.vmId().equals(dst.vmId()); // ids are cluster-wide
    if (kind.equals("dir")) {
      return sameVm ? withinVm(src, dst, true) : tree(src, dst);
    }
    int mode = Integer.parseInt(kind.substring("file ".length()), 8);
    return sameVm ? withinVm(src, dst, false) : file(src, dst, mode);
  }

  /** "dir", or "file MODE" (octal); anything else is the user's error. */
  private static String probe(Side src) {
    String p = ShellWords.quote(src.path());
    Captured result = run(src, GuestCommand.of(
        "if [ -d " + p + " ]; then echo dir; elif [ -f " + p + " ]; then echo file $(stat -c %a -- " + p + ");"
            + " elif [ -e " + p + " ]; then echo other; else echo none; fi").withTimeout(java.util.Optional.of(PROBE_TIMEOUT)));
    String kind = result.stdoutText().strip();
    return switch (kind) {
      case "none" -> throw BoxdException.notFound("no such file or directory: " + Names.quote(src.shown()));
      case "other" -> throw BoxdException.invalid(Names.quote(src.shown()) + " is not a regular file or a directory");
      default -> {
        if (!kind.equals("dir") && !kind.matches("file [0-7]{1,4}")) {
          throw new BoxdException(ErrorCode.INTERNAL, "cannot inspect " + Names.quote(src.shown()) + ": " + kind);
        }
        yield kind;
      }
    };
  }

  private static long withinVm(Side src, Side dst, boolean tree) {
    String s = ShellWords.quote(src.path());
    String d = ShellWords.quote(dst.path());
    String command = tree
        ? "mkdir -p -- " + d + " && tar -c -C " + s + " -f - . | tar -x --no-same-owner -C " + d + " -f -"
        : "cp --preserve=mode -- " + s + " " + d + " && stat -c %s -- " + d;
    Captured result = run(src, GuestCommand.of(command));
    if (result.exitCode() != 0) {
      throw BoxdException.invalid("copy from " + Names.quote(src.shown()) + " to " + Names.quote(dst.shown()) + " failed: "
          + result.stderrText().strip());
    }
    return tree ? 0 : Long.parseLong(result.stdoutText().strip());
  }

  private static long file(Side src, Side dst, int mode) {
    var failure = new AtomicReference<RuntimeException>();
    try (var pipeIn = new PipedInputStream(PIPE_BUFFER); var pipeOut = new PipedOutputStream(pipeIn)) {
      Thread producer = Thread.ofVirtual().name("copy-from-" + src.vmId()).start(() -> {
        try (pipeOut) {
          src.worker().download(src.vmId(), src.path(), pipeOut);
        } catch (RuntimeException e) {
          failure.set(e);
        } catch (IOException e) {
          failure.set(new UncheckedIOException(e));
        }
      });
      // A failed download must fail the upload, not end it early as if the file were shorter.
      InputStream data = new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          int n = pipeIn.read(b, off, len);
          if (n == -1) {
            joinQuietly(producer);
            if (failure.get() != null) {
              throw new IOException("reading " + src.shown() + " failed: " + failure.get().getMessage());
            }
          }
          return n;
        }
      };
      try {
        return dst.worker().upload(dst.vmId(), dst.path(), mode, data);
      } catch (RuntimeException e) {
        producer.interrupt();
        throw failure.get() instanceof BoxdException b ? b : e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long tree(Side src, Side dst) {
    var dstErr = new ByteArrayOutputStream();
    var srcErr = new ByteArrayOutputStream();
    var moved = new AtomicLong();
    String d = ShellWords.quote(dst.path());
    try (GuestProcess unpack = dst.worker().exec(dst.vmId(),
        GuestCommand.of("mkdir -p -- " + d + " && tar -x --no-same-owner -C " + d + " -f -"), OutputStream.nullOutputStream(), dstErr);
        var pipeIn = new PipedInputStream(PIPE_BUFFER); var pipeOut = new PipedOutputStream(pipeIn)) {
      // Each agent delivers output on its own reader thread; a pump between them keeps one guest's
      // output from waiting on the other guest's flow control.
      Thread pump = Thread.ofVirtual().name("copy-to-" + dst.vmId()).start(() -> {
        try (OutputStream in = unpack.stdin()) {
          pipeIn.transferTo(new FilterOutputStream(in) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              out.write(b, off, len);
              moved.addAndGet(len);
            }
          });
        } catch (IOException e) {
          // tar -x went away; its exit code tells why
        }
      });
      int packed;
      try (GuestProcess pack = src.worker().exec(src.vmId(), GuestCommand.of("tar -c -C " + ShellWords.quote(src.path()) + " -f - ."), pipeOut,
          srcErr)) {
        pack.stdin().close();
        packed = pack.awaitExit(NO_LIMIT);
      } finally {
        pipeOut.close();
      }
      joinQuietly(pump);
      int unpacked = unpack.awaitExit(NO_LIMIT);
      if (packed != 0) {
        throw BoxdException.invalid("reading " + Names.quote(src.shown()) + " failed: " + srcErr.toString().strip());
      }
      if (unpacked != 0) {
        throw BoxdException.invalid("writing " + Names.quote(dst.shown()) + " failed: " + dstErr.toString().strip());
      }
      return moved.get();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What a command printed, and how it ended. */
  private record Captured(int exitCode, String stdoutText, String stderrText) {}

  /** Runs a command with no input to its end and captures its output. */
  private static Captured run(Side side, GuestCommand command) {
    var stdout = new ByteArrayOutputStream();
    var stderr = new ByteArrayOutputStream();
    try (GuestProcess process = side.worker().exec(side.vmId(), command, stdout, stderr)) {
      process.stdin().close();
      int code = process.awaitExit(NO_LIMIT);
      return new Captured(code, stdout.toString(java.nio.charset.StandardCharsets.UTF_8), stderr.toString(java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void joinQuietly(Thread thread) {
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
