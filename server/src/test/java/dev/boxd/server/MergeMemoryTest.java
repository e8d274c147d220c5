package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxd.testkit.server.ServerProcess;
import dev.boxd.vmm.MemoryMerging;
import dev.boxd.worker.runtime.HostMemoryMerging;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code boxd server --merge-memory}: KSM on while the server runs, the host's settings back after it. */
class MergeMemoryTest {
  @Test
  void theFlagIsOffUnlessGiven() {
    var off = new ServerCommand();
    new CommandLine(off).parseArgs();
    assertThat(off.mergeMemory).isFalse();
    var on = new ServerCommand();
    new CommandLine(on).parseArgs("--merge-memory", "--hibernate-after", "60");
    assertThat(on.mergeMemory).isTrue();
    assertThat(on.hibernateAfterSecs).isEqualTo(60);
  }

  @Test
  void aServerWithTheFlagMergesWhileItRunsAndRestoresTheHostsSettings() throws Exception {
    MemoryMerging ksm = MemoryMerging.host();
    assumeTrue(ksm.available(), () -> "KSM: " + ksm.unavailable().orElseThrow());
    MemoryMerging.Settings host = ksm.settings();
    assumeTrue(!host.equals(HostMemoryMerging.DEFAULT), "the host already merges with boxd's settings: nothing would change");
    // No warm VM: the test is about the host's settings, not VMs.
    try (ServerProcess server = new ServerProcess().withArgs("--merge-memory", "--warm-pool", "0")) {
      server.start();
      try {
        assertThat(ksm.settings()).isEqualTo(HostMemoryMerging.DEFAULT);
      } catch (AssertionError e) {
        System.out.println("=== server log ===\n" + server.log());
        throw e;
      }
    } // SIGTERM: a clean shutdown
    assertThat(ksm.settings()).isEqualTo(host);
  }
}
