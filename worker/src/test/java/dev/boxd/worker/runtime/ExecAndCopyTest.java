package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.vmm.agent.ExecSession;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** exec and copy against one real VM restored from the golden. */
class ExecAndCopyTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();
  static VmInfo vm;

  @BeforeAll
  static void createVm() {
    vm = fixture.create("alice");
  }

  static ExecResult run(String command) {
    return run(ExecRequest.of(command), new byte[0]);
  }

  static ExecResult run(ExecRequest request, byte[] stdin) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    try (ExecSession session = fixture.runtime().exec(vm.id(), request, out, err)) {
      try (OutputStream in = session.stdin()) {
        in.write(stdin);
      }
      int code = session.awaitExit(Duration.ofSeconds(120));
      return new ExecResult(code, out.toByteArray(), err.toByteArray());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void runsUnameAsBoxdInHomeWithIdentityInEnvironment() {
    ExecResult result = run("uname -a; id -un; pwd; echo $BOXD_VM_ID $BOXD_VM_NAME; hostname");
    assertThat(result.exitCode()).isZero();
    assertThat(result.stdoutText()).startsWith("Linux ").contains("\nboxd\n/home/boxd\n" + vm.id() + " " + vm.name() + "\n" + vm.name() + "\n");
  }

  @Test
  void clockIsRightAfterTheRestore() {
    // The golden's clock stopped when it was snapshotted; identity sets it on every restore.
    long guest = Long.parseLong(run("date +%s").stdoutText().strip());
    assertThat(Math.abs(guest - System.currentTimeMillis() / 1000)).isLessThanOrEqualTo(2);
  }

  @Test
  void exitCodesPropagate() {
    assertThat(run("exit 7").exitCode()).isEqualTo(7);
    ExecResult unknown = run("no-such-command-here");
    assertThat(unknown.exitCode()).isEqualTo(127);
    assertThat(unknown.stderrText()).contains("not found");
  }

  @Test
  void stderrStaysApartFromStdout() {
    ExecResult result = run("echo to-out; echo to-err >&2; echo more-out");
    assertThat(result.stdoutText()).isEqualTo("to-out\nmore-out\n");
    assertThat(result.stderrText()).isEqualTo("to-err\n");
  }

  @Test
  void stdinReachesTheCommandAndEnvIsPassed() {
    byte[] input = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
    ExecResult result = run(ExecRequest.of("wc -l; echo \"$GREETING\"").withEnv(Map.of("GREETING", "hello there")), input);
    assertThat(result.stdoutText()).isEqualTo("2\nhello there\n");
  }

  @Test
  void timeoutReturns124AndLeavesNoProcessBehind() {
    long t0 = System.nanoTime();
    ExecResult result = run(ExecRequest.of("sleep 1000 & sleep 1001; echo never").withTimeout(Duration.ofSeconds(2)), new byte[0]);
    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
    assertThat(run("pgrep -f 'sleep 100[01]' || echo none").stdoutText()).isEqualTo("none\n");
  }

  @Test
  void ptySessionHasATerminalWithTheWindowSize() throws Exception {
    var out = new ByteArrayOutputStream();
    var request = ExecRequest.of("tty; stty size; echo term=$TERM").withTty(new ExecRequest.WindowSize(33, 101), "xterm-256color");
    try (ExecSession session = fixture.runtime().exec(vm.id(), request, out, OutputStream.nullOutputStream())) {
      assertThat(session.awaitExit(Duration.ofSeconds(60))).isZero();
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("/dev/pts/").contains("33 101").contains("term=xterm-256color");
  }

  @Test
  void hundredMegabyteFileRoundTripKeepsChecksumAndMode(@TempDir Path tmp) throws Exception {
    long size = 100L * 1024 * 1024;
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    try (InputStream data = new DigestInputStream(new RandomStream(size, 42), sent)) {
      assertThat(fixture.runtime().upload(vm.id(), "big.bin", 0640, data)).isEqualTo(size);
    }
    String expected = HexFormat.of().formatHex(sent.digest());
    assertThat(run("sha256sum big.bin | cut -d' ' -f1; stat -c '%a %U' big.bin").stdoutText()).isEqualTo(expected + "\n640 boxd\n");

    MessageDigest received = MessageDigest.getInstance("SHA-256");
    try (OutputStream sink = new DigestOutputStream(OutputStream.nullOutputStream(), received)) {
      var info = fixture.runtime().download(vm.id(), "/home/boxd/big.bin", sink);
      assertThat(info.size()).isEqualTo(size);
      assertThat(info.mode() & 0777).isEqualTo(0640);
    }
    assertThat(HexFormat.of().formatHex(received.digest())).isEqualTo(expected);
    run("rm big.bin");
  }

  @Test
  void directoriesCopyBothWays(@TempDir Path tmp) throws Exception {
    Path src = tmp.resolve("src");
    Files.createDirectories(src.resolve("sub/deeper"));
    Files.writeString(src.resolve("a.txt"), "alpha\n");
    Files.writeString(src.resolve("sub/deeper/b.sh"), "#!/bin/sh\necho beta\n");
    Files.setPosixFilePermissions(src.resolve("sub/deeper/b.sh"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    fixture.runtime().uploadTree(vm.id(), src, "results");
    assertThat(run("cat results/a.txt; results/sub/deeper/b.sh; stat -c '%a %U' results/sub/deeper/b.sh").stdoutText())
        .isEqualTo("alpha\nbeta\n750 boxd\n");
    Path back = tmp.resolve("back");
    fixture.runtime().downloadTree(vm.id(), "results", back);
    assertThat(Files.readString(back.resolve("a.txt"))).isEqualTo("alpha\n");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(back.resolve("sub/deeper/b.sh")))).isEqualTo("rwxr-x---");
  }

  @Test
  void missingPathsAreNotFound(@TempDir Path tmp) {
    Path target = tmp.resolve("never-created");
    assertThatThrownBy(() -> fixture.runtime().download(vm.id(), "/no/such/file", OutputStream.nullOutputStream()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND))
        .hasMessageContaining("/no/such/file");
    assertThatThrownBy(() -> fixture.runtime().downloadTree(vm.id(), "/no/such/dir", target))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThat(Files.exists(target)).isFalse();
    assertThatThrownBy(() -> fixture.runtime().upload(vm.id(), "/root/forbidden", 0644, new ByteArrayInputStream(new byte[1])))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.PERMISSION_DENIED));
  }

  @Test
  void hugeOutputStreamsThrough() {
    var counted = new CountingStream();
    try (ExecSession session = fixture.runtime().exec(vm.id(), ExecRequest.of("head -c 300000000 /dev/zero"), counted, OutputStream.nullOutputStream())) {
      session.stdin().close();
      assertThat(session.awaitExit(Duration.ofSeconds(300))).isZero();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertThat(counted.count).isEqualTo(300_000_000L);
  }

  @Test
  void unknownVmIsNotFound() {
    assertThatThrownBy(() -> fixture.runtime().exec("nope", ExecRequest.of("true"), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  /** Deterministic pseudo-random bytes without holding them in memory. */
  static final class RandomStream extends InputStream {
    private final Random random;
    private long left;

    RandomStream(long size, long seed) {
      this.left = size;
      this.random = new Random(seed);
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left == 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      byte[] chunk = new byte[n];
      random.nextBytes(chunk);
      System.arraycopy(chunk, 0, b, off, n);
      left -= n;
      return n;
    }
  }

  static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
