package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.os.HostCommand;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Saving a snapshot onto a full disk: the worker's snapshot directory is a 2 MiB tmpfs here, far
 * smaller than any VM's memory delta. The save fails with a clear error, leaves no file, and the
 * VM runs on as before; with room again, the same save works.
 */
class SnapshotDiskFullTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  private static String run(VmInfo vm, String command) {
    var out = new ByteArrayOutputStream();
    try (var session = fixture.runtime().exec(vm.id(), ExecRequest.of(command), out, new ByteArrayOutputStream())) {
      session.stdin().close();
      assertThat(session.awaitExit(Duration.ofSeconds(60))).isZero();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toString().strip();
  }

  @Test
  void aFullDiskFailsTheSaveCleanlyAndTheVmRunsOn() throws Exception {
    VmInfo vm = fixture.create("alice");
    run(vm, "head -c 8000000 /dev/urandom > /tmp/fill && echo kept > kept.txt");
    Path snapshots = fixture.config().snapshotsDir();
    Files.createDirectories(snapshots);
    HostCommand.run("mount", "-t", "tmpfs", "-o", "size=2m", "boxd-test-small", snapshots.toString());
    try {
      assertThatThrownBy(() -> fixture.runtime().saveSnapshot(vm.id(), "full1"))
          .isInstanceOf(BoxdException.class)
          .satisfies(e -> assertThat(((BoxdException) e).code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED))
          .hasMessageContaining("disk is full");
      try (var left = Files.list(snapshots)) {
        assertThat(left.toList()).as("nothing of the snapshot remains").isEmpty();
      }
      assertThat(fixture.runtime().info(vm.id()).state()).isEqualTo(VmState.RUNNING);
      assertThat(run(vm, "cat kept.txt; echo more >> kept.txt; cat kept.txt")).isEqualTo("kept\nkept\nmore");
    } finally {
      HostCommand.run("umount", snapshots.toString());
    }
    assertThat(fixture.runtime().saveSnapshot(vm.id(), "roomy")).isPositive();
    fixture.runtime().deleteSnapshot("roomy");
    fixture.runtime().destroy(vm.id());
  }
}
