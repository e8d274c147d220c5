package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A file written and removed in a guest gives its space back on the host: the guest's root is
 * mounted with discard and QEMU passes discards to the VM's qcow2 overlay, which frees the
 * clusters; {@code fstrim} does the same for blocks freed while discard was off.
 */
class DiscardTest {
  @RegisterExtension
  static final RuntimeFixture vms = new RuntimeFixture();

  private static final int MIB = 256;
  /** What may stay allocated: metadata, the journal, logs the guest wrote meanwhile. */
  private static final long SLACK = 32L << 20;

  @Test
  void aRemovedFileGivesItsSpaceBackOnTheHost() {
    VmInfo vm = vms.create("tester");
    Path disk = Path.of(new VmDirectory(vms.config().vmsDir().resolve(vm.id())).read().disk());
    assertThat(root(vm, "findmnt -no OPTIONS /")).contains("discard");
    root(vm, "sync");
    long start = allocated(disk);

    // Mounted with discard: the removal alone frees the host's clusters, at the journal's commit.
    writeAndTime(vm, "/home/boxd/big");
    long written = allocated(disk);
    assertThat(written - start).as("the guest's file is on the host's disk").isGreaterThan((MIB - 16L) << 20);
    long rmWithDiscard = timed(vm, "rm /home/boxd/big && sync");
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> allocated(disk) < start + SLACK);
    long afterRm = allocated(disk);

    // Without discard a removal frees nothing on the host, until fstrim.
    root(vm, "mount -o remount,nodiscard /");
    writeAndTime(vm, "/home/boxd/big");
    long rmWithoutDiscard = timed(vm, "rm /home/boxd/big && sync");
    long afterRmNoDiscard = allocated(disk);
    assertThat(afterRmNoDiscard - start).as("no discard: the file's clusters stay").isGreaterThan((MIB - 16L) << 20);
    String trimmed = root(vm, "fstrim -v /");
    long afterTrim = allocated(disk);
    assertThat(afterTrim).as("fstrim: %s", trimmed).isLessThan(start + SLACK);
    root(vm, "mount -o remount,discard /");

    System.out.printf("host disk of the VM's overlay: %d MiB at start, %d MiB after writing %d MiB, %d MiB after rm with"
            + " discard (rm+sync %d ms); without discard %d MiB after rm (rm+sync %d ms), %d MiB after fstrim%n",
        start >> 20, written >> 20, MIB, afterRm >> 20, rmWithDiscard, afterRmNoDiscard >> 20, rmWithoutDiscard, afterTrim >> 20);
    vms.runtime().destroy(vm.id());
  }

  private static void writeAndTime(VmInfo vm, String file) {
    // Random data: zeroes would be written as holes (detect-zeroes) and prove nothing.
    root(vm, "head -c " + MIB + "M /dev/urandom > " + file + " && sync");
  }

  private static long timed(VmInfo vm, String command) {
    long t0 = System.nanoTime();
    root(vm, command);
    return (System.nanoTime() - t0) / 1_000_000;
  }

  private static String root(VmInfo vm, String command) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    try (var session = vms.runtime().exec(vm.id(), ExecRequest.of(command).asUser("root"), out, err)) {
      session.stdin().close();
      var result = new ExecResult(session.awaitExit(Duration.ofSeconds(300)), out.toByteArray(), err.toByteArray());
      assertThat(result.exitCode()).as("%s: %s", command, result.stderrText()).isZero();
      return result.stdoutText().strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Bytes the file holds on the host's disk (allocated, not its apparent size). */
  private static long allocated(Path file) {
    try {
      Process du = new ProcessBuilder("du", "-B1", file.toString()).start();
      String bytes = new String(du.getInputStream().readAllBytes()).trim().split("\\s+")[0];
      du.waitFor();
      return Long.parseLong(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
