package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4Subnet;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VM table: one locked access that checks the state, and registration that keeps ids and addresses unique. */
class VmTableTest {
  @TempDir
  Path dir;

  private final VmTable table = new VmTable(Ipv4Subnet.parse("10.77.0.0/24"));

  private VmDirectory.Record record(String id, String ip) {
    return new VmDirectory.Record(id, "vm-" + id, "alice", 1, 512, ip, "", "", "", "", true, "", List.of(), null);
  }

  private ManagedVm registered(String id, String ip) {
    return table.register(new VmDirectory(dir.resolve(id)), record(id, ip));
  }

  @Test
  void aLockedOperationRunsOnlyInAnAllowedStateAndSaysWhyNot() {
    ManagedVm vm = registered("a", "10.77.0.5");
    table.setState(vm, VmState.STOPPED, null);

    boolean heldInside = table.locked("a", Set.of(VmState.STOPPED), ", not running", v -> v.lock.isHeldByCurrentThread());
    assertThat(heldInside).isTrue();
    assertThatThrownBy(() -> table.locked("a", Set.of(VmState.RUNNING), ", not running", v -> 1))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.getMessage()).isEqualTo("VM vm-a is " + VmState.STOPPED.label() + ", not running");
        });
    assertThat(vm.lock.isLocked()).as("released after a refusal").isFalse();
    assertThatThrownBy(() -> table.locked("nope", v -> 1))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  @Test
  void idsAndAddressesAreUniqueAndInsideTheWorkersNetwork() {
    registered("a", "10.77.0.5");

    assertThatThrownBy(() -> registered("a", "10.77.0.6"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS));
    assertThatThrownBy(() -> registered("b", "10.77.0.5"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.getMessage()).contains("already used by another VM"));
    assertThatThrownBy(() -> registered("c", "10.99.0.5"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    assertThatThrownBy(() -> registered("d", "10.77.0.1")).as("the gateway").isInstanceOf(BoxdException.class);
    assertThat(table.list()).extracting(VmInfo::id).containsExactly("a");
  }

  @Test
  void everyStateChangeReachesTheListenersWithItsReason() {
    ManagedVm vm = registered("a", "10.77.0.5");
    List<VmEvent> events = new CopyOnWriteArrayList<>();
    table.observe(events::add);
    table.observe(event -> {
      throw new IllegalStateException("a broken listener does not stop the others");
    });

    table.setState(vm, VmState.FAILED, "QEMU exited");
    table.setState(vm, VmState.RUNNING, null);

    assertThat(events).extracting(VmEvent::state).containsExactly(VmState.FAILED, VmState.RUNNING);
    assertThat(events.getFirst().reason()).contains("QEMU exited");
    assertThat(vm.failure).isNull();
  }
}
