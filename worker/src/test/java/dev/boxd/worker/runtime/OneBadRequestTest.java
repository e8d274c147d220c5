package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Many execs and copies share one agent connection per VM; a bad or abandoned request must fail
 * only itself. Each test keeps a command running beside the bad request and checks that it
 * finishes normally with all of its output.
 */
class OneBadRequestTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();
  static VmInfo vm;

  @BeforeAll
  static void createVm() {
    vm = fixture.create("alice");
  }

  /** A command beside the bad request: it waits for a line of stdin, then answers. */
  private record Bystander(ExecSession session, ByteArrayOutputStream out) {
    static Bystander start() {
      var out = new ByteArrayOutputStream();
      ExecSession session = fixture.runtime().exec(vm.id(), ExecRequest.of("read line; echo \"got $line\""), out, new ByteArrayOutputStream());
      return new Bystander(session, out);
    }

    void finishesNormally() throws IOException {
      try (OutputStream in = session.stdin()) {
        in.write("hello\n".getBytes(StandardCharsets.UTF_8));
      }
      assertThat(session.awaitExit(Duration.ofSeconds(60))).isZero();
      assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("got hello\n");
    }
  }

  @Test
  void aHundredKibArgumentFailsAloneAndClearly() throws IOException {
    Bystander bystander = Bystander.start();
    String big = "x".repeat(100 * 1024);
    assertThatThrownBy(() -> fixture.runtime().exec(vm.id(), ExecRequest.of("echo " + big), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("at most 65536 bytes (64 KiB) per request");
    ExecRequest bigEnv = ExecRequest.of("true").withEnv(Map.of("BIG", big));
    assertThatThrownBy(() -> fixture.runtime().exec(vm.id(), bigEnv, OutputStream.nullOutputStream(), OutputStream.nullOutputStream()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    assertThatThrownBy(() -> fixture.runtime().upload(vm.id(), "/tmp/" + big, 0644, InputStream.nullInputStream()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("the path and its options come to");
    bystander.finishesNormally();
  }

  @Test
  void aCallerInterruptedMidExecEndsOnlyItsOwnCommand() throws Exception {
    Bystander bystander = Bystander.start();
    // As the gateway and the SSH front door do when a client leaves: interrupt the verb's thread,
    // which then closes its session (killing its command) with the interrupt still set.
    var killed = new CompletableFuture<Integer>();
    Thread verb = Thread.ofVirtual().start(() -> {
      ExecSession doomed = fixture.runtime().exec(vm.id(), ExecRequest.of("sleep 600"), OutputStream.nullOutputStream(), OutputStream.nullOutputStream());
      doomed.exitCode().whenComplete((code, error) -> killed.complete(code));
      Thread.currentThread().interrupt();
      doomed.close();
    });
    verb.join();
    assertThat(killed.get(30, TimeUnit.SECONDS)).as("sleep was killed").isEqualTo(128 + 9);
    bystander.finishesNormally();
  }

  @Test
  void anUploadCutOffMidStreamFailsAloneAndLeavesNoFile() throws Exception {
    Bystander bystander = Bystander.start();
    // The client's data stops after 3 MiB: its connection dropped.
    assertThatThrownBy(() -> fixture.runtime().upload(vm.id(), "/home/boxd/cut.bin", 0644, new Source(3 << 20, () -> {
      throw new IOException("the client went away");
    }))).hasMessageContaining("the client went away");
    // The client left and the verb's thread was interrupted mid-stream, as the gateway does.
    var failure = new CompletableFuture<Throwable>();
    Thread verb = Thread.ofVirtual().start(() -> {
      try {
        fixture.runtime().upload(vm.id(), "/home/boxd/cut.bin", 0644, new Source(2 << 20, () -> Thread.currentThread().interrupt()));
        failure.complete(null);
      } catch (RuntimeException e) {
        failure.complete(e);
      }
    });
    verb.join(60_000);
    assertThat(failure.get(60, TimeUnit.SECONDS)).as("the interrupted upload fails").isNotNull()
        .hasMessageContaining("interrupted");
    bystander.finishesNormally();
    assertThat(fixture.run(vm, "ls -A /home/boxd | grep -c -e '^cut.bin$' -e '^.boxd-put' || true").stdoutText().trim())
        .as("neither the file nor a temporary file of it").isEqualTo("0");
  }

  @Test
  void aDownloadWhoseReaderLeftFailsAloneAndStopsTheGuestSending() throws Exception {
    assertThat(fixture.run(vm, "head -c 64M /dev/zero > /home/boxd/big.bin").exitCode()).isZero();
    Bystander bystander = Bystander.start();
    var taken = new java.util.concurrent.atomic.AtomicLong();
    OutputStream leaving = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (taken.addAndGet(len) > (1 << 20)) {
          throw new IOException("the client went away");
        }
      }
    };
    assertThatThrownBy(() -> fixture.runtime().download(vm.id(), "/home/boxd/big.bin", leaving))
        .hasMessageContaining("could not write the downloaded data: the client went away");
    bystander.finishesNormally();
    assertThat(fixture.run(vm, "rm /home/boxd/big.bin").exitCode()).isZero();
  }

  /** Endless zeros; after {@code bytes} of them, each read first runs {@code then}. */
  private static final class Source extends InputStream {
    interface Step {
      void run() throws IOException;
    }

    private final long bytes;
    private final Step then;
    private long sent;

    Source(long bytes, Step then) {
      this.bytes = bytes;
      this.then = then;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0];
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (sent >= bytes) {
        then.run();
      }
      int n = Math.min(len, 64 * 1024);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      sent += n;
      return n;
    }
  }
}
