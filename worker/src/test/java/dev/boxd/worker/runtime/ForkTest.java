package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.RunDir;
import dev.boxd.vmm.SavedSnapshot;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.worker.testing.RuntimeFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The delta fork at the VMM level, against real QEMU: {@link QemuDriver#fork} driven directly on
 * VMs restored from the fixture's golden, with unconnected NICs inside the fixture's namespace.
 */
class ForkTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture();
  private static final Duration AGENT = Duration.ofSeconds(60);
  private static final AtomicInteger names = new AtomicInteger();
  private static final String COUNTER = "setsid nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter;"
      + " sleep 0.2; done' >/dev/null 2>&1 </dev/null &";

  /**
   * Rewrites a 64 MiB file in the guest's tmpfs (mapped) over and over, each pass with the next
   * generation number in every 8-byte word, in ascending order, and records each finished pass in
   * a second file: at any instant the big file is a prefix of generation g+1 and the rest g,
   * where g is the recorded one, but for the block being written (memcpy need not store in
   * ascending order: its bytes are each either generation's).
   */
  private static final String WRITER = """
      import mmap, os, struct
      N = 64 << 20
      fd = os.open('/dev/shm/big', os.O_RDWR | os.O_CREAT); os.ftruncate(fd, N)
      gd = os.open('/dev/shm/gen', os.O_RDWR | os.O_CREAT); os.ftruncate(gd, 4096)
      m = mmap.mmap(fd, N); gm = mmap.mmap(gd, 4096)
      open('/dev/shm/writer.pid', 'w').write(str(os.getpid()))
      g = 0
      while True:
          g += 1
          block = struct.pack('<Q', g) * 512
          for off in range(0, N, 4096):
              m[off:off + 4096] = block
          gm[0:8] = struct.pack('<Q', g)
      """;
  /** Checks the writer's invariant; prints "ok GEN BLOCK" or "bad ...". */
  private static final String CHECK = """
      import struct
      d = open('/dev/shm/big', 'rb').read()
      g = struct.unpack('<Q', open('/dev/shm/gen', 'rb').read(8))[0]
      hb, lb = struct.pack('<Q', g + 1) * 512, struct.pack('<Q', g) * 512
      n = len(d) // 4096
      i = 0
      while i < n and d[i * 4096:(i + 1) * 4096] == hb:
          i += 1
      bad = [k for k in range(i + 1, n) if d[k * 4096:(k + 1) * 4096] != lb]
      if i < n:
          b = d[i * 4096:(i + 1) * 4096]
          if any(b[c] != hb[c] and b[c] != lb[c] for c in range(4096)):
              bad.insert(0, i)
      print(('ok %d %d' % (g, i)) if not bad and n == 16384 else 'bad gen %d at block %d: %d wrong blocks %s' % (g, i, len(bad), bad[:8]))
      """;

  private static Golden golden;
  private static QemuDriver driver;
  private static Path root;
  private final List<QemuVm> started = new ArrayList<>();

  @BeforeAll
  static void setUp() throws Exception {
    golden = fixture.runtime().golden(RuntimeFixture.SHAPE, line -> System.out.println("[golden] " + line));
    driver = fixture.runtime().driver();
    root = fixture.config().vmsDir().resolve("fork");
    Files.createDirectories(root);
  }

  @AfterEach
  void killAll() {
    for (QemuVm vm : started) {
      vm.kill();
      vm.close();
    }
  }

  private QemuDriver.Machine machine(String name) {
    Path dir = root.resolve(name);
    return new QemuDriver.Machine("fork-" + name, RuntimeFixture.SHAPE, new RunDir(dir.resolve("run")), dir.resolve("disk.qcow2"),
        Optional.empty(), String.format("02:b0:00:00:%02x:%02x", names.get() / 256, names.get() % 256));
  }

  private static List<String> enter() {
    return fixture.runtime().network().namespace().enterPrefix();
  }

  private QemuVm restore(String name) throws Exception {
    names.incrementAndGet();
    QemuDriver.Machine m = machine(name);
    Files.createDirectories(m.disk().getParent());
    Disks.createOverlay(golden.disk(), "qcow2", m.disk(), Disks.STANDARD_SIZE);
    QemuVm vm = driver.restore(m, golden, enter());
    started.add(vm);
    return vm;
  }

  private QemuDriver.ForkResult fork(QemuVm parent, String childName) throws Exception {
    names.incrementAndGet();
    QemuDriver.Machine child = machine(childName);
    Files.createDirectories(child.disk().getParent());
    Path parentDisk = parent.runDir().dir().getParent().resolve("disk-" + childName + ".qcow2");
    QemuDriver.ForkResult result = driver.fork(parent, parentDisk, child, golden, enter());
    started.add(result.child());
    System.out.printf("fork %s: parent down %d ms, child running %d ms after the stop (%d ms after the call), delta %d MiB in %d runs, %s%n",
        childName, result.parentDowntime().toMillis(), result.childRunningAfterStop().toMillis(), result.childRunningAfterCall().toMillis(),
        result.deltaBytes() >> 20, result.deltaRuns(), result.timings());
    return result;
  }

  private static String sh(QemuVm vm, String command) {
    return vm.agent(AGENT).run(ExecRequest.of(command).asUser("root"), AGENT).orThrow(command).stdoutText().strip();
  }

  private static long counter(QemuVm vm) {
    return Long.parseLong(sh(vm, "cat /tmp/counter"));
  }

  @Test
  void childContinuesFromTheParentAndTheTwoDiverge() throws Exception {
    QemuVm parent = restore("p");
    sh(parent, COUNTER);
    Thread.sleep(1500);
    sh(parent, "echo before > /root/before");
    long atFork = counter(parent);

    QemuDriver.ForkResult first = fork(parent, "c");
    QemuVm child = first.child();
    assertThat(parent.status()).isEqualTo("running");
    assertThat(child.status()).isEqualTo("running");
    long childFirst = counter(child);
    assertThat(childFirst).isGreaterThanOrEqualTo(atFork);
    Thread.sleep(1000);
    assertThat(counter(child)).isGreaterThan(childFirst);
    assertThat(counter(parent)).isGreaterThan(atFork);
    assertThat(sh(child, "cat /root/before")).isEqualTo("before");
    assertThat(sh(parent, "cat /root/before")).isEqualTo("before");

    sh(parent, "echo p > /root/after-parent");
    sh(child, "echo c > /root/after-child");
    assertThat(sh(parent, "ls /root")).contains("after-parent").doesNotContain("after-child");
    assertThat(sh(child, "ls /root")).contains("after-child").doesNotContain("after-parent");

    // The disks: both over the frozen layer, each on its own new top.
    assertThat(parent.activeDisk()).isEqualTo(first.parentDisk());
    assertThat(child.activeDisk()).isEqualTo(machine("c").disk());
    // The argv names the new top (as file=PATH, or, handed to a confined QEMU, in its descriptors' text).
    assertThat(Files.readString(parent.runDir().argvFile())).contains(first.parentDisk().toString())
        .doesNotContain(first.frozenDisk() + "\n", "file=" + first.frozenDisk() + ",");

    // Second generation: a fork of the fork.
    long childAtFork = counter(child);
    QemuDriver.ForkResult second = fork(child, "g");
    QemuVm grandchild = second.child();
    assertThat(counter(grandchild)).isGreaterThanOrEqualTo(childAtFork);
    assertThat(sh(grandchild, "cat /root/before /root/after-child")).isEqualTo("before\nc");
    assertThat(sh(grandchild, "ls /root")).doesNotContain("after-parent");
    sh(grandchild, "echo g > /root/after-grandchild");
    assertThat(sh(child, "ls /root")).doesNotContain("after-grandchild");
    assertThat(sh(parent, "echo alive")).isEqualTo("alive");
  }

  /** Starts {@link #WRITER} in the guest and waits until its first pass is done. */
  private static void startWriter(QemuVm vm) throws InterruptedException {
    sh(vm, "cat > /root/writer.py <<'EOF'\n" + WRITER + "EOF\ncat > /root/check.py <<'EOF'\n" + CHECK + "EOF\n"
        + "setsid nohup python3 /root/writer.py >/dev/null 2>/root/writer.err </dev/null &");
    for (int i = 0; i < 600 && generation(vm) < 1; i++) {
      Thread.sleep(100);
    }
    assertThat(generation(vm)).isPositive();
  }

  private static long generation(QemuVm vm) {
    String out = sh(vm, "test -f /dev/shm/gen && od -An -tu8 -N8 /dev/shm/gen || echo 0").strip();
    return Long.parseLong(out);
  }

  /** Stops the writer, checks what it wrote, and lets it go on. */
  private static String checkWriter(QemuVm vm) {
    return sh(vm, "p=$(cat /dev/shm/writer.pid); kill -STOP $p; python3 /root/check.py; kill -CONT $p");
  }

  private QemuDriver.ForkResult forkWhileWriting(String mode) throws Exception {
    String before = System.getProperty("boxd.fork.precopy");
    System.setProperty("boxd.fork.precopy", mode);
    try {
      QemuVm parent = restore("w" + mode);
      startWriter(parent);
      long genBefore = generation(parent);
      QemuDriver.ForkResult result = fork(parent, "wc" + mode);
      QemuVm child = result.child();
      String childCheck = checkWriter(child);
      String parentCheck = checkWriter(parent);
      System.out.printf("precopy %s: writer at generation %d before the fork; child: %s; parent: %s%n", mode, genBefore, childCheck,
          parentCheck);
      assertThat(childCheck).startsWith("ok ");
      assertThat(parentCheck).startsWith("ok ");
      assertThat(Long.parseLong(childCheck.split(" ")[1])).isGreaterThanOrEqualTo(genBefore);
      // Both go on writing, each its own copy.
      long childGen = generation(child);
      Thread.sleep(3000);
      assertThat(generation(child)).isGreaterThan(childGen);
      assertThat(checkWriter(child)).startsWith("ok ");
      assertThat(checkWriter(parent)).startsWith("ok ");
      return result;
    } finally {
      if (before == null) {
        System.clearProperty("boxd.fork.precopy");
      } else {
        System.setProperty("boxd.fork.precopy", before);
      }
    }
  }

  /** Pre-copy with write tracking (the fixture's QEMUs have the userfaultfd preload library). */
  @Test
  void aPreCopiedChildOfAParentWritingMemoryThroughoutTheForkIsConsistent() throws Exception {
    assertThat(forkWhileWriting("auto").timings().precopy()).isEqualTo("userfaultfd");
  }

  @Test
  void aChildOfAParentWritingMemoryThroughoutTheForkIsConsistentWithoutPreCopy() throws Exception {
    assertThat(forkWhileWriting("off").timings().precopy()).isEqualTo("off");
  }

  @Test
  void forkOfAPausedParentLeavesItPaused() throws Exception {
    QemuVm parent = restore("pp");
    sh(parent, "echo paused > /root/marker");
    parent.pause();
    QemuDriver.ForkResult result = fork(parent, "pc");
    assertThat(parent.status()).isEqualTo("paused");
    assertThat(sh(result.child(), "cat /root/marker")).isEqualTo("paused");
    parent.resume();
    assertThat(sh(parent, "echo alive")).isEqualTo("alive");
  }

  @Test
  void aChildThatCannotStartLeavesNothingBehind() throws Exception {
    QemuVm parent = restore("fp");
    Path before = parent.activeDisk();
    QemuDriver.Machine bad = new QemuDriver.Machine("fork-bad", RuntimeFixture.SHAPE, new RunDir(root.resolve("bad").resolve("run")),
        root.resolve("bad").resolve("disk.qcow2"), Optional.empty(), "not-a-mac");
    Files.createDirectories(bad.disk().getParent());
    Path parentDisk = root.resolve("fp").resolve("disk-bad.qcow2");
    assertThatThrownBy(() -> driver.fork(parent, parentDisk, bad, golden, enter())).hasMessageContaining("fork failed");
    assertThat(parent.status()).isEqualTo("running");
    assertThat(sh(parent, "echo alive")).isEqualTo("alive");
    assertThat(parent.activeDisk()).isEqualTo(before);
    assertThat(Files.exists(parentDisk)).isFalse();
    assertThat(Files.exists(bad.disk())).isFalse();
    assertThat(Files.exists(bad.runDir().dir())).isFalse();
    assertThat(ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine().orElse("").contains(bad.runDir().dir().toString())))
        .isFalse();
  }

  @Test
  void aSavedSnapshotRestoresIntoANewVmAndHibernationResumesTheSameOne() throws Exception {
    QemuVm vm = restore("s");
    sh(vm, COUNTER);
    Thread.sleep(1000);
    sh(vm, "echo saved > /root/saved");
    long atSave = counter(vm);
    Path dir = root.resolve("s").resolve("snap1");
    SavedSnapshot saved = driver.save(vm, golden, dir, root.resolve("s").resolve("disk-2.qcow2"), false);
    System.out.printf("save: down %d ms, delta %d MiB%n", saved.downtime().toMillis(), saved.deltaBytes() >> 20);
    assertThat(vm.status()).isEqualTo("running");
    sh(vm, "echo later > /root/later");

    names.incrementAndGet();
    QemuDriver.Machine copy = machine("s-copy");
    Files.createDirectories(copy.disk().getParent());
    QemuVm restored = driver.restoreFrom(dir, copy, golden, enter());
    started.add(restored);
    assertThat(counter(restored)).isGreaterThanOrEqualTo(atSave);
    assertThat(sh(restored, "cat /root/saved")).isEqualTo("saved");
    assertThat(sh(restored, "ls /root")).doesNotContain("later");

    // Hibernation: saved and left stopped, QEMU gone, then back over the VM's own new top layer.
    Path vmDisk = root.resolve("s").resolve("disk-3.qcow2");
    long atHibernate = counter(vm);
    driver.save(vm, golden, root.resolve("s").resolve("hibernated"), vmDisk, true);
    assertThat(vm.status()).isEqualTo("paused");
    vm.quit(Duration.ofSeconds(10));
    names.incrementAndGet();
    QemuDriver.Machine same = new QemuDriver.Machine("fork-s", RuntimeFixture.SHAPE, vm.runDir(), vmDisk, Optional.empty(),
        "02:b0:00:00:99:01");
    QemuVm woken = driver.restoreFrom(root.resolve("s").resolve("hibernated"), same, golden, enter());
    started.add(woken);
    assertThat(sh(woken, "cat /root/saved /root/later")).isEqualTo("saved\nlater");
    assertThat(counter(woken)).isGreaterThanOrEqualTo(atHibernate);
    assertThat(woken.activeDisk()).isEqualTo(vmDisk);
  }
}
