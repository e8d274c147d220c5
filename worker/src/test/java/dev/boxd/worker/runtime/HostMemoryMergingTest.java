package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.vmm.MemoryMerging;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a stand-in for /sys/kernel/mm/ksm: what is turned on, what comes back, and when. */
class HostMemoryMergingTest {
  private static final MemoryMerging.Settings HOST = new MemoryMerging.Settings(0, 100, 20);
  private static final MemoryMerging.Settings WANTED = MemoryMerging.Settings.enabled(1000, 20);

  @TempDir Path tmp;
  private Path sys;
  private MemoryMerging ksm;
  private Path saved;

  @BeforeEach
  void hostWithKsmOff() throws IOException {
    sys = Files.createDirectories(tmp.resolve("ksm"));
    Files.writeString(sys.resolve("run"), "0\n");
    Files.writeString(sys.resolve("pages_to_scan"), "100\n");
    Files.writeString(sys.resolve("sleep_millisecs"), "20\n");
    ksm = new MemoryMerging(sys);
    assertThat(ksm.settings()).isEqualTo(HOST);
    saved = tmp.resolve("worker/ksm-before.properties");
  }

  @Test
  void mergesWhileRunningAndRestoresTheHostsSettingsAtClose() {
    HostMemoryMerging merging = HostMemoryMerging.start(ksm, Optional.of(WANTED), saved);
    assertThat(merging.merging()).isTrue();
    assertThat(ksm.settings()).isEqualTo(WANTED);
    assertThat(saved).exists();

    merging.close();
    assertThat(ksm.settings()).isEqualTo(HOST);
    assertThat(saved).doesNotExist();
    ksm.apply(WANTED);
    merging.close();
    assertThat(ksm.settings()).as("a second close changes nothing").isEqualTo(WANTED);
  }

  @Test
  void withoutTheChoiceNothingChanges() {
    ksm.apply(new MemoryMerging.Settings(1, 64, 200));
    try (HostMemoryMerging merging = HostMemoryMerging.start(ksm, Optional.empty(), saved)) {
      assertThat(merging.merging()).isFalse();
    }
    assertThat(ksm.settings()).isEqualTo(new MemoryMerging.Settings(1, 64, 200));
    assertThat(saved).doesNotExist();
  }

  @Test
  void aKilledWorkersSettingsAreNotTakenForTheHosts() {
    HostMemoryMerging.start(ksm, Optional.of(WANTED), saved); // never closed: killed

    HostMemoryMerging again = HostMemoryMerging.start(ksm, Optional.of(WANTED), saved);
    again.close();
    assertThat(ksm.settings()).isEqualTo(HOST);
  }

  @Test
  void aWorkerStartedWithoutMergingRestoresWhatAKilledOneLeft() {
    HostMemoryMerging.start(ksm, Optional.of(WANTED), saved); // never closed: killed

    HostMemoryMerging.start(ksm, Optional.empty(), saved).close();
    assertThat(ksm.settings()).isEqualTo(HOST);
    assertThat(saved).doesNotExist();
  }

  @Test
  void aKernelWithoutKsmIsAClearErrorOnlyWhenMergingIsWanted() {
    MemoryMerging none = new MemoryMerging(tmp.resolve("no-ksm"));
    assertThatThrownBy(() -> HostMemoryMerging.start(none, Optional.of(WANTED), saved))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION))
        .hasMessageContaining("no KSM").hasMessageContaining(tmp.resolve("no-ksm/run").toString());
    assertThat(saved).doesNotExist();
    HostMemoryMerging.start(none, Optional.empty(), saved).close();
  }
}
