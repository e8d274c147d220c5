package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Large streams through cp, and clients that vanish in the middle of one. */
class FrontDoorStreamsTest {
  @TempDir
  static Path dir;
  static Door door;

  @BeforeAll
  static void start() {
    door = new Door(dir);
  }

  @AfterAll
  static void stop() {
    door.close();
  }

  @Test
  void fiftyMegabytesUpThroughStdin() throws Exception {
    Path file = dir.resolve("up.bin");
    writeRandom(file, FakeOperations.BIG, 7);
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(door.ssh.argv(List.of(), "cp", "-", "app:big-up", "--json")).redirectInput(file.toFile())
        .redirectOutput(dir.resolve("up.json").toFile()).redirectError(dir.resolve("up.err").toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("up.err"))).isZero();
    var upload = door.ops.uploads.poll(10, TimeUnit.SECONDS);
    assertThat(upload.path()).isEqualTo("big-up");
    assertThat(upload.failure()).isNull();
    assertThat(upload.bytes()).isEqualTo(FakeOperations.BIG);
    assertThat(upload.sha256()).isEqualTo(SshClient.sha256(file));
    assertThat(Files.readString(dir.resolve("up.json"))).contains("\"bytes\":" + FakeOperations.BIG);
    System.out.printf("50 MiB upload through cp -: %d ms (%.0f MiB/s)%n", ms, 50_000.0 / ms);
  }

  @Test
  void fiftyMegabytesDownThroughStdout() throws Exception {
    Path file = dir.resolve("down.bin");
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(door.ssh.argv(List.of(), "cp", "app:big", "-")).redirectOutput(file.toFile())
        .redirectError(dir.resolve("down.err").toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("down.err"))).isZero();
    assertThat(Files.size(file)).isEqualTo(FakeOperations.BIG);
    assertThat(SshClient.sha256(file)).isEqualTo(FakeOperations.bigSha256());
    System.out.printf("50 MiB download through cp -: %d ms (%.0f MiB/s)%n", ms, 50_000.0 / ms);
  }

  @Test
  void aClientKilledMidUploadHurtsNoOtherSession() throws Exception {
    door.ops.uploads.clear();
    door.ops.events.clear();
    Process victim = door.ssh.start(List.of(), "cp", "-", "app:slow");
    OutputStream keys = victim.getOutputStream();
    keys.write(new byte[1 << 20]);
    keys.flush();
    awaitEventStartingWith("received ");

    // Another session streams while the first one hangs mid-upload.
    Process other = door.ssh.start(List.of(), "cp", "-", "app:other");
    Thread feeder = Thread.ofVirtual().start(() -> {
      try (OutputStream in = other.getOutputStream()) {
        for (int i = 0; i < 40; i++) {
          in.write(new byte[256 * 1024]);
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });

    victim.destroyForcibly();
    assertThat(victim.waitFor(10, TimeUnit.SECONDS)).isTrue();

    var failed = door.ops.uploads.poll(20, TimeUnit.SECONDS);
    var done = door.ops.uploads.poll(20, TimeUnit.SECONDS);
    if (failed != null && failed.path().equals("other")) {
      var swap = failed;
      failed = done;
      done = swap;
    }
    assertThat(failed).isNotNull();
    assertThat(failed.path()).isEqualTo("slow");
    assertThat(failed.failure()).as("a cut-off upload fails, it does not look complete").isNotNull();
    feeder.join();
    assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(other.exitValue()).isZero();
    assertThat(done.path()).isEqualTo("other");
    assertThat(done.bytes()).isEqualTo(40L * 256 * 1024);
    assertThat(done.failure()).isNull();

    assertThat(door.ssh.ssh("exec", "app", "echo", "alive").out()).isEqualTo("alive\n");
  }

  @Test
  void aClientKilledMidDownloadStopsTheDownload() throws Exception {
    door.ops.events.clear();
    Process victim = door.ssh.start(List.of(), "cp", "app:big", "-");
    InputStream out = victim.getInputStream();
    out.readNBytes(1 << 20);
    victim.destroyForcibly();
    assertThat(victim.waitFor(10, TimeUnit.SECONDS)).isTrue();
    awaitEventStartingWith("download failed");
    assertThat(door.ssh.ssh("list").exit()).isZero();
  }

  private static void writeRandom(Path file, int size, long seed) throws IOException {
    var random = new Random(seed);
    byte[] chunk = new byte[1 << 16];
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int n = 0; n < size; n += chunk.length) {
        random.nextBytes(chunk);
        out.write(chunk, 0, Math.min(chunk.length, size - n));
      }
    }
  }

  private static void awaitEventStartingWith(String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      String e = door.ops.events.poll(100, TimeUnit.MILLISECONDS);
      if (e != null && e.startsWith(prefix)) {
        return;
      }
    }
    throw new AssertionError("no event starting with " + prefix);
  }
}
