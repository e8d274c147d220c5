package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.worker.testing.RuntimeFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every fork and save freezes a VM's top layer, so its chain grows by one each time. Layers no
 * other VM or snapshot reads are merged into the top of a stopped or hibernated VM and deleted;
 * shared ones stay. The files written before every freeze are still there after a wake from
 * hibernation (memory and processes intact) and after a cold boot.
 */
class LayerMergeTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();

  @Test
  void privateLayersAreMergedIntoTheTopAndSharedOnesStay() throws Exception {
    LocalVmRuntime runtime = fixture.runtime();
    VmInfo vm = fixture.create("alice");
    assertThat(fixture.run(vm, "echo one > f1 && sync").exitCode()).isZero();
    VmInfo child = runtime.fork(vm.id(), fixture.spec("alice"));   // freezes layer 1, which the child reads
    assertThat(fixture.run(vm, "echo two > f2 && sync").exitCode()).isZero();
    runtime.saveSnapshot(vm.id(), "keep");                          // freezes layer 2, which the snapshot reads
    assertThat(fixture.run(vm, "echo three > f3 && sync").exitCode()).isZero();
    runtime.saveSnapshot(vm.id(), "gone");                          // freezes layer 3
    runtime.deleteSnapshot("gone");
    assertThat(fixture.run(vm, "echo four > f4 && sync").exitCode()).isZero();
    VmInfo second = runtime.fork(vm.id(), fixture.spec("alice"));  // freezes layer 4
    runtime.destroy(second.id());
    List<String> before = record(vm).layers();
    assertThat(before).as("four frozen layers, newest first").hasSize(4);
    assertThat(runtime.mergeLayers(vm.id())).as("not while its QEMU runs").isZero();

    assertThat(fixture.run(vm, "sleep 600 > /dev/null 2>&1 & echo $! > sleeper").exitCode()).isZero();
    runtime.hibernate(vm.id());   // freezes layer 5: the VM goes on over a new top when it wakes
    List<String> hibernated = record(vm).layers();
    assertThat(runtime.mergeLayers(vm.id())).as("layers 5, 4 and 3: no one else reads them").isEqualTo(3);
    assertThat(record(vm).layers()).containsExactlyElementsOf(before.subList(2, 4));
    assertThat(qcow2Files()).doesNotContainAnyElementsOf(hibernated.subList(0, 3)).contains(before.get(2), before.get(3));
    runtime.resume(vm.id());
    assertThat(fixture.run(vm, "cat f1 f2 f3 f4 && kill -0 $(cat sleeper) && echo alive").stdoutText())
        .as("woken from hibernation over the merged disk, its processes intact").isEqualTo("one\ntwo\nthree\nfour\nalive\n");

    runtime.destroy(child.id());
    runtime.deleteSnapshot("keep");
    runtime.stop(vm.id());
    assertThat(runtime.mergeLayers(vm.id())).as("the rest once the child and the snapshot are gone").isEqualTo(2);
    assertThat(runtime.mergeLayers(vm.id())).as("nothing more to merge").isZero();
    assertThat(record(vm).layers()).isEmpty();
    assertThat(qcow2Files()).containsExactly(record(vm).disk());
    runtime.start(vm.id());
    assertThat(fixture.run(vm, "cat f1 f2 f3 f4").stdoutText()).as("after a cold boot from the merged disk").isEqualTo("one\ntwo\nthree\nfour\n");
    runtime.destroy(vm.id());
  }

  private static VmDirectory.Record record(VmInfo vm) {
    return new VmDirectory(fixture.config().vmsDir().resolve(vm.id())).read();
  }

  private static List<String> qcow2Files() throws Exception {
    try (Stream<Path> files = Files.walk(fixture.config().vmsDir())) {
      return files.filter(f -> f.toString().endsWith(".qcow2")).map(Path::toString).toList();
    }
  }
}
