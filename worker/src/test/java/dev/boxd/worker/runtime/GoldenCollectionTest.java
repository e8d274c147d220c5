package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.boxd.core.net.Ipv4;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every size makes a golden with a RAM file in /dev/shm; when the last VM of a size goes, its
 * golden goes too, except the default size's (here the fixture's, which it keeps).
 */
class GoldenCollectionTest {
  @RegisterExtension
  static final RuntimeFixture vms = new RuntimeFixture();

  private static final List<MachineShape> SIZES = List.of(new MachineShape(1, 512), new MachineShape(1, 640),
      new MachineShape(1, 768), new MachineShape(1, 896), new MachineShape(2, 512));

  @Test
  void destroyingTheLastVmOfASizeRemovesItsGoldenAndRamFile() throws IOException {
    LocalVmRuntime runtime = vms.runtime();
    Golden standard = runtime.golden(RuntimeFixture.SHAPE, line -> {});
    long shmBefore = goldenRamBytes();
    Map<MachineShape, VmInfo> made = new LinkedHashMap<>();
    Map<MachineShape, Golden> goldens = new LinkedHashMap<>();
    Set<Ipv4> used = new HashSet<>();
    try {
      for (MachineShape size : SIZES) {
        Ipv4 ip = vms.config().network().subnet().allocate(used);
        used.add(ip);
        String id = "g" + size.key() + "-" + Long.toString(System.nanoTime() % 1_000_000, 36);
        made.put(size, runtime.create(new VmSpec(id, "vm-" + size.key(), "tester", size, ip)));
        goldens.put(size, runtime.golden(size, line -> {}));
        assertThat(goldens.get(size).ramFile()).exists();
        assertThat(vms.run(made.get(size), "echo up").stdoutText().strip()).isEqualTo("up");
      }
      long shmWithAll = goldenRamBytes();

      MachineShape survivor = SIZES.get(0);
      for (MachineShape size : SIZES.subList(1, SIZES.size())) {
        runtime.destroy(made.remove(size).id());
      }
      List<Path> deleted = new ArrayList<>();
      // A just-killed QEMU may map its RAM file for a moment longer: collection then waits.
      List<Path> gone = SIZES.subList(1, SIZES.size()).stream().map(size -> goldens.get(size).dir()).toList();
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        deleted.addAll(runtime.collectGoldens());
        return deleted.containsAll(gone);
      });
      assertThat(deleted).doesNotContain(goldens.get(survivor).dir(), standard.dir());
      for (MachineShape size : SIZES.subList(1, SIZES.size())) {
        assertThat(goldens.get(size).dir()).doesNotExist();
        assertThat(goldens.get(size).ramFile()).doesNotExist();
      }
      assertThat(goldens.get(survivor).ramFile()).as("a running VM's golden stays").exists();
      assertThat(standard.ramFile()).as("the default size's golden stays").exists();
      long shmWithOne = goldenRamBytes();

      runtime.destroy(made.remove(survivor).id());
      await().atMost(Duration.ofSeconds(30)).until(() -> runtime.collectGoldens().contains(goldens.get(survivor).dir()));
      assertThat(goldens.get(survivor).ramFile()).doesNotExist();
      assertThat(standard.ramFile()).exists();
      assertThat(runtime.collectGoldens()).as("nothing more to collect").isEmpty();
      System.out.printf("golden RAM files in /dev/shm: %d MiB before, %d MiB with five sizes running, %d MiB with one, %d MiB "
          + "after the last (others' goldens included)%n", shmBefore >> 20, shmWithAll >> 20, shmWithOne >> 20, goldenRamBytes() >> 20);

    } finally {
      made.values().forEach(vm -> runtime.destroy(vm.id()));
    }
  }

  /** Bytes the golden RAM files in /dev/shm hold (allocated, not their apparent size), by du. */
  private static long goldenRamBytes() throws IOException {
    try {
      Process du = new ProcessBuilder("sh", "-c", "du -c -B1 /dev/shm/boxd-golden-*.ram 2>/dev/null | tail -1").start();
      String total = new String(du.getInputStream().readAllBytes()).trim().split("\\s+")[0];
      du.waitFor();
      return total.isEmpty() ? 0 : Long.parseLong(total);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
