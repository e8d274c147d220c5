package dev.boxd.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.verbs.Operations.NewRequest;
import dev.boxd.verbs.Operations.VmView;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.reconcile.Outcome;
import dev.boxd.worker.runtime.VmRuntime;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control plane's verbs against the in-memory log, with a worker that does what the log says at once. */
class ControlOperationsTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final Clock CLOCK = Clock.fixed(AT, ZoneOffset.UTC);
  private static final ControlConfig CONFIG = ControlConfig.singleNode(Ipv4Subnet.parse("10.77.0.0/24"), new MachineShape(1, 512));

  private final InMemoryStateStore store = new InMemoryStateStore();
  private final InstantWorker worker = new InstantWorker();
  private final ControlOperations alice;
  private final ControlOperations bob;

  ControlOperationsTest() {
    store.apply(new Command.CreateUser("u1", "alice", AT, 2));
    store.apply(new Command.CreateUser("u2", "bob", AT, 2));
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
    alice = new ControlOperations("u1", store, worker, CONFIG, CLOCK);
    bob = new ControlOperations("u2", store, worker, CONFIG, CLOCK);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void createWritesTheVmToTheLogAndReturnsItRunning() {
    VmView vm = alice.create(named("app"));

    assertThat(vm.name()).isEqualTo("app");
    assertThat(vm.status()).isEqualTo("running");
    assertThat(vm.ip()).startsWith("10.77.0.");
    assertThat(worker.reconciled).containsExactly(vm.id());
    assertThat(store.read().vmsOf("u1")).extracting(Vm::name).containsExactly("app");
  }

  @Test
  void createRejectedForATakenNameAllocatesNothing() {
    alice.create(named("app"));
    var before = store.read();

    assertThatThrownBy(() -> alice.create(named("app")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS);
          assertThat(e.getMessage()).isEqualTo("a VM named \"app\" already exists");
        });

    var after = store.read();
    assertThat(after.vms()).isEqualTo(before.vms()); // no VM, address or worker room taken
    assertThat(worker.reconciled).hasSize(1); // the worker was never asked to make anything
  }

  @Test
  void quotaExceededIsResourceExhaustedAndAllocatesNothing() {
    alice.create(named("one"));
    alice.create(named("two"));

    assertThatThrownBy(() -> alice.create(named("three")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
          assertThat(e.getMessage()).isNotBlank();
        });
    assertThat(store.read().vmsOf("u1")).extracting(Vm::name).containsExactlyInAnyOrder("one", "two");
    assertThat(worker.reconciled).hasSize(2);
  }

  @Test
  void aMissingVmIsNotFoundWithItsNameInTheMessage() {
    for (var verb : List.<Runnable>of(() -> alice.info("nope"), () -> alice.pause("nope"), () -> alice.stop("nope"),
        () -> alice.destroy("nope"))) {
      assertThatThrownBy(verb::run)
          .isInstanceOfSatisfying(BoxdException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
            assertThat(e.getMessage()).isEqualTo("no VM named \"nope\"");
          });
    }
  }

  @Test
  void anotherAccountsVmIsNotFoundByNameOrId() {
    VmView vm = alice.create(named("app"));

    assertThatThrownBy(() -> bob.info("app"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThatThrownBy(() -> bob.destroy(vm.id()))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThat(store.read().vm(vm.id()).orElseThrow().desired()).isEqualTo(DesiredPower.RUNNING);
  }

  @Test
  void aCreateTheWorkerFailsLeavesNothingBehind() {
    worker.failMaking = "no room for the disk";

    assertThatThrownBy(() -> alice.create(named("app")))
        .isInstanceOfSatisfying(BoxdException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
          assertThat(e.getMessage()).contains("no room for the disk");
        });
    assertThat(store.read().vmsOf("u1")).isEmpty(); // name, address and quota are free again
    assertThat(store.commands(Command.DestroyVm.class)).hasSize(1);
  }

  @Test
  void pauseAndResumeReturnTheWorkersTimings() {
    alice.create(named("app"));

    assertThat(alice.pause("app")).isEqualTo(InstantWorker.SUSPEND_US);
    assertThat(store.read().vmByName("u1", "app").orElseThrow().desired()).isEqualTo(DesiredPower.STANDBY);
    assertThat(alice.resume("app")).isEqualTo(InstantWorker.RESUME_US);
    assertThat(store.read().vmByName("u1", "app").orElseThrow().desired()).isEqualTo(DesiredPower.RUNNING);
  }

  @Test
  void destroyAsksTheWorkerAndTheVmIsGone() {
    alice.create(named("app"));

    alice.destroy("app");

    assertThat(store.read().vmsOf("u1")).isEmpty();
    assertThatThrownBy(() -> alice.info("app"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
  }

  private static NewRequest named(String name) {
    return new NewRequest(Optional.of(name), Optional.empty(), Optional.empty());
  }

  /**
   * A worker that does what the log asks the moment it is asked, and tells the log so: made VMs
   * are running, destroyed ones removed. {@link #failMaking} makes creating fail with a reason.
   */
  private final class InstantWorker implements Workers {
    static final long SUSPEND_US = 640;
    static final long RESUME_US = 85;

    final List<String> reconciled = new CopyOnWriteArrayList<>();
    volatile String failMaking;

    @Override
    public VmRuntime runtime(String workerId) {
      throw BoxdException.precondition("guest I/O is not part of the control operations' unit tests");
    }

    @Override
    public Outcome reconcileNow(String workerId, String vmId, long index) {
      Vm vm = store.readAtLeast(index, java.time.Duration.ofSeconds(5)).vm(vmId).orElse(null);
      if (vm == null) {
        return new Outcome(List.of(), 0, 0);
      }
      if (vm.desired() == DesiredPower.DESTROYED) {
        store.apply(new Command.RemoveVm(vmId, workerId));
        return new Outcome(List.of(), 0, 0);
      }
      reconciled.add(vmId);
      if (failMaking != null && vm.observed().status() != VmStatus.RUNNING) {
        throw new BoxdException(ErrorCode.INTERNAL, "create failed: " + failMaking);
      }
      VmStatus status = switch (vm.desired()) {
        case RUNNING -> VmStatus.RUNNING;
        case STANDBY -> VmStatus.STANDBY;
        case HIBERNATED -> VmStatus.HIBERNATED;
        default -> VmStatus.STOPPED;
      };
      if (vm.observed().status() != status) {
        store.apply(new Command.ReportObserved(vmId, workerId, new VmObserved(status, 4242, "", AT, 0)));
      }
      return new Outcome(List.of(), vm.desired() == DesiredPower.STANDBY ? SUSPEND_US : 0,
          vm.desired() == DesiredPower.RUNNING ? RESUME_US : 0);
    }
  }
}
