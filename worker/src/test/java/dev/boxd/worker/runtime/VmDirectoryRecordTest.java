package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vm.json} keeps whether a VM is isolated, and a record written before VMs could be reads as not isolated. */
class VmDirectoryRecordTest {
  @TempDir
  Path dir;

  @Test
  void anIsolatedVmStaysIsolatedAcrossARewriteAndAnOlderRecordIsNot() throws Exception {
    var files = new VmDirectory(dir);
    var record = new VmDirectory.Record("vm1", "box", "u1", 1, 512, "10.77.0.5", "m", "g", "r", "i", true, "d", List.of(), null, true);
    files.write(record.withPowered(false).withPending(VmDirectory.Pending.MAKE));
    assertThat(files.read().isolated()).isTrue();
    assertThat(files.read().spec().isolated()).isTrue();

    Files.writeString(files.recordFile(), """
        {"id":"vm2","name":"old","owner":"u1","vcpus":1,"memoryMib":512,"ip":"10.77.0.6","machineId":"m","goldenDir":"g",
         "ramFile":"r","imageDir":"i","powered":true,"disk":"d","layers":[],"pending":null}""");
    assertThat(files.read().isolated()).isFalse();
    assertThat(files.read().id()).isEqualTo("vm2");
  }
}
