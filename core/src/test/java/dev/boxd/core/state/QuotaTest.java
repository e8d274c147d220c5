package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.T0;
import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static dev.boxd.core.state.Fixtures.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command.CreateVm;
import org.junit.jupiter.api.Test;

/** Per-account limits on VM size and totals, and a worker's memory, as the log's apply checks them. */
class QuotaTest {
  /** A worker with 16 GiB of RAM: it may promise 24 GiB of guest memory. */
  private static final Command.RegisterWorker WORKER = new Command.RegisterWorker("w1", "10.0.0.1:7000", 4, 16384, T0);

  private static CreateVm vm(int n, int vcpus, long memoryMib, long diskGb) {
    return new CreateVm("vm" + n, "u1", "vm-" + n, vcpus, memoryMib, diskGb, Ipv4.parse("10.77.0." + n),
        Ipv4.parse("203.0.113." + n), "w1", T0);
  }

  private static Result.Rejected rejected(Applied applied) {
    assertThat(applied.result()).isInstanceOf(Result.Rejected.class);
    return (Result.Rejected) applied.result();
  }

  @Test
  void anAccountStartsWithTheStandardQuota() {
    User u = given(user("u1")).user("u1").orElseThrow();
    assertThat(u.quota()).isEqualTo(new Quota(10, 2, 8192, 100, 20, 81920, 1000));
  }

  @Test
  void aVmLargerThanThePerVmLimitIsRefusedNamingTheLimitAndTheAsk() {
    ClusterState s = given(user("u1"), WORKER);

    Applied applied = next(s, vm(1, 2, 16384, 100));

    Result.Rejected r = rejected(applied);
    assertThat(r.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(r.message()).contains("larger than this account's per-VM limit", "asked 2 vCPU / 16384 MiB / 100 GB",
        "limit 2 vCPU / 8192 MiB / 100 GB per VM", "--memory", "operator");
    assertThat(applied.state().vms()).as("nothing allocated").isEmpty();
    assertThat(rejected(next(s, vm(1, 3, 1024, 100))).message()).contains("asked 3 vCPU");
    assertThat(rejected(next(s, vm(1, 1, 1024, 101))).message()).contains("101 GB");
  }

  @Test
  void totalsCountEveryVmTheAccountHoldsAndTheMessageSaysWhatIsUsedAndAsked() {
    Quota small = new Quota(10, 2, 8192, 100, 3, 3072, 250);
    ClusterState s = given(user("u1"), WORKER, new Command.SetQuota("u1", small), vm(1, 2, 1024, 100),
        new Command.SetDesiredPower("vm1", DesiredPower.STOPPED));

    Result.Rejected cpu = rejected(next(s, vm(2, 2, 1024, 100)));
    assertThat(cpu.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(cpu.message()).contains("vCPU quota reached: this account's VMs hold 2 of 3 and this VM asks for 2",
        "ask an operator to raise the quota");

    ClusterState two = next(s, vm(2, 1, 1024, 100)).state();
    Result.Rejected memory = rejected(next(two, vm(3, 0 + 1, 2048, 10)));
    assertThat(memory.message()).startsWith("vCPU quota reached");
    Quota roomyCpu = new Quota(10, 2, 8192, 100, 10, 3072, 250);
    ClusterState moreCpu = next(two, new Command.SetQuota("u1", roomyCpu)).state();
    assertThat(rejected(next(moreCpu, vm(3, 1, 2048, 10))).message())
        .contains("memory quota reached: this account's VMs hold 2048 MiB of 3072 MiB and this VM asks for 2048 MiB");
    assertThat(rejected(next(moreCpu, vm(3, 1, 1024, 51))).message())
        .contains("disk quota reached: this account's VMs hold 200 GB of 250 GB and this VM asks for 51 GB");
    assertThat(next(moreCpu, vm(3, 1, 1024, 50)).result().isOk()).as("exactly at every limit").isTrue();
  }

  @Test
  void forksAndVmsFromSnapshotsCountAgainstTheTotals() {
    Quota twoCpus = new Quota(10, 2, 8192, 100, 3, 81920, 1000);
    ClusterState s = given(user("u1"), WORKER, new Command.SetQuota("u1", twoCpus), vm(1, 2, 1024, 100),
        new Command.AddSnapshot(Snapshot.saving("s1", "u1", "base", "vm1", "vm-1", "w1", 2, 1024, 100, T0)));

    Applied fork = next(s, new Command.ForkVm("vm2", "vm1", "copy", Ipv4.parse("10.77.0.2"), Ipv4.parse("203.0.113.2"), T0));
    assertThat(rejected(fork).code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(rejected(fork).message()).contains("vCPU quota reached");
    assertThat(fork.state().vm("vm2")).isEmpty();

    Applied fromSnapshot = next(s, new Command.CreateFromSnapshot("vm2", "s1", "copy", Ipv4.parse("10.77.0.2"),
        Ipv4.parse("203.0.113.2"), T0));
    assertThat(rejected(fromSnapshot).message()).contains("vCPU quota reached");
  }

  @Test
  void aWorkerPromisesAtMostItsMemoryTimesTheOvercommitCountingOnlyVmsThatHoldMemory() {
    ClusterState s = given(user("u1"), WORKER, vm(1, 2, 8192, 100), vm(2, 2, 8192, 100), vm(3, 2, 8192, 100));

    Applied fourth = next(s, vm(4, 1, 256, 10));
    Result.Rejected r = rejected(fourth);
    assertThat(r.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(r.message()).contains("worker \"w1\" has no room for 256 MiB more: its VMs hold 24576 MiB of the 24576 MiB",
        "16384 MiB of RAM x 3/2", "stop, hibernate or destroy a VM");
    assertThat(fourth.state().vm("vm4")).isEmpty();

    ClusterState hibernated = next(s, new Command.SetDesiredPower("vm1", DesiredPower.HIBERNATED)).state();
    assertThat(next(hibernated, vm(4, 2, 8192, 100)).result().isOk()).as("a hibernated VM's memory is on disk").isTrue();
    ClusterState stopped = next(s, new Command.SetDesiredPower("vm2", DesiredPower.STOPPED)).state();
    assertThat(next(stopped, vm(4, 2, 8192, 100)).result().isOk()).isTrue();
    ClusterState destroyed = next(s, new Command.DestroyVm("vm3")).state();
    assertThat(rejected(next(destroyed, vm(4, 1, 256, 10))).message()).as("a destroyed VM holds memory until removed")
        .contains("no room");
  }

  @Test
  void anOperatorSetsEveryLimitAndBadLimitsAreRefused() {
    ClusterState s = given(user("u1"));
    Quota big = new Quota(20, 8, 65536, 500, 64, 262144, 5000);

    assertThat(next(s, new Command.SetQuota("u1", big)).state().user("u1").orElseThrow().quota()).isEqualTo(big);
    Result.Rejected negative = rejected(next(s, new Command.SetQuota("u1", new Quota(1, 2, -5, 100, 2, 8192, 100))));
    assertThat(negative.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(negative.message()).contains("per-VM size 2 vCPU / -5 MiB / 100 GB", "expected 0 or more");
    assertThat(rejected(next(s, new Command.SetQuota("u9", big))).code()).isEqualTo(ErrorCode.NOT_FOUND);
  }

  @Test
  void theOldVmCountCommandScalesTheTotalsWithTheCount() {
    ClusterState s = given(user("u1"), new Command.SetUserQuota("u1", 3));
    assertThat(s.user("u1").orElseThrow().quota()).isEqualTo(new Quota(3, 2, 8192, 100, 6, 24576, 300));
  }
}
