package dev.boxd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.vmm.KernelArgs;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.MemoryMerging;
import dev.boxd.vmm.QemuArgs;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuLaunch;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.RunDir;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Forks at several guest RAM sizes with about half the RAM written in the guest, first and second
 * generation: parent downtime, child running and child exec-ready (first agent exec answered),
 * counted from the parent's stop, for boxd with pre-copy (write tracking), boxd without, and the
 * same recipe done by hand ({@link RawFork}). Then the host memory that ten forks of one VM add,
 * and with {@code BOXD_BENCH_KSM=1} what is left of it once KSM has merged the forks' pages,
 * against the target (ten forks add at most 30 % of what the VM wrote).
 * Run with {@code bench/run.sh fork [MiB,MiB,...] [iterations] [memory-forks]}.
 */
public final class ForkBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AGENT = Duration.ofSeconds(120);
  /** What ten forks of a VM may add to host memory with KSM on, in percent of what the VM wrote. */
  private static final long TARGET_PERCENT = 30;

  private final QemuDriver driver;
  private final List<String> enter;
  private final Path state;
  private int names;
  private int dirs;
  private Golden goldenOf;

  private ForkBench(QemuDriver driver, List<String> enter, Path state) {
    this.driver = driver;
    this.enter = enter;
    this.state = state;
  }

  public static void main(String[] args) throws Exception {
    List<Integer> sizes = List.of(args.length > 0 ? args[0] : "256,1024").stream()
        .flatMap(s -> java.util.Arrays.stream(s.split(","))).map(Integer::parseInt).toList();
    int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int memoryForks = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    Path state = Files.createTempDirectory("boxd-forkbench-");
    Path cache = Path.of(Optional.ofNullable(System.getenv("BOXD_DATA")).orElse(System.getProperty("user.home") + "/.local/share/boxd"));
    Path recipe = Path.of(System.getProperty("boxd.home", ".")).resolve("guest");
    var config = new RuntimeConfig(state, cache, recipe, new NetworkConfig("bxforkb", "br0", Ipv4Subnet.parse("10.251.0.0/24"),
        Optional.empty()));
    var runtime = new LocalVmRuntime(config);
    try {
      var bench = new ForkBench(runtime.driver(), runtime.network().namespace().enterPrefix(), state);
      System.out.printf("accelerator: %s; %d iterations per row; times from the parent's stop%n",
          runtime.driver().accelerator().accelerator(), iterations);
      for (int mib : sizes) {
        MachineShape shape = new MachineShape(1, mib);
        Golden golden = runtime.golden(shape, line -> System.err.println("[golden] " + line));
        if (iterations > 0) {
          bench.timeForks(golden, iterations);
        }
        if (mib == 1024 && memoryForks > 0) {
          bench.memory(golden, memoryForks);
        }
      }
    } finally {
      runtime.close();
      runtime.network().tearDown();
      dev.boxd.os.Trees.delete(state);
    }
  }

  private record Vm(QemuVm vm, Path dir) {}

  private QemuDriver.Machine machine(Path dir, MachineShape shape) {
    int n = ++names;
    return new QemuDriver.Machine("fb-" + n, shape, new RunDir(dir.resolve("run")), dir.resolve("disk.qcow2"), Optional.empty(),
        String.format("02:b0:00:01:%02x:%02x", n / 256, n % 256));
  }

  // The raw recipe's first parent is a boxd VM, whose QEMU runs confined as an unprivileged user;
  // the recipe has it write the device state and its new top layer by path, so the bench's
  // directories let any user in (they hold only this run's throw-away VMs).
  private Path newDir() throws IOException {
    Files.setPosixFilePermissions(state, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    Path dir = Files.createDirectories(state.resolve("vm" + (++dirs)));
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    return dir;
  }

  private Vm restoreFilled(Golden golden) throws IOException {
    Path dir = newDir();
    QemuDriver.Machine m = machine(dir, golden.shape());
    Disks.createOverlay(golden.disk(), "qcow2", m.disk(), Disks.STANDARD_SIZE);
    QemuVm vm = driver.restore(m, golden, enter);
    long fill = golden.shape().memoryMib() / 2;
    long t0 = System.nanoTime();
    sh(vm, "mount -o remount,size=90% /dev/shm && head -c " + fill + "M /dev/urandom > /dev/shm/fill && sync");
    System.err.printf("[fill] %d MiB written in the guest in %d ms%n", fill, (System.nanoTime() - t0) / 1_000_000);
    return new Vm(vm, dir);
  }

  private static String sh(QemuVm vm, String command) {
    return vm.agent(AGENT).run(ExecRequest.of(command).asUser("root"), AGENT).orThrow(command).stdoutText();
  }

  private record Sample(long downUs, long runningUs, long execUs, long deltaBytes) {}

  private Sample boxdFork(Vm parent, List<Vm> keep) throws IOException {
    return boxdFork(parent, keep, "auto");
  }

  /** A fork by boxd; {@code precopy} is {@code boxd.fork.precopy} for it (auto: with write tracking, off: without pre-copy). */
  private Sample boxdFork(Vm parent, List<Vm> keep, String precopy) throws IOException {
    Path dir = newDir();
    QemuDriver.Machine m = machine(dir, goldenOf.shape());
    System.setProperty("boxd.fork.precopy", precopy);
    long call = System.nanoTime();
    QemuDriver.ForkResult r;
    try {
      r = driver.fork(parent.vm(), parent.dir().resolve("disk-" + names + ".qcow2"), m, goldenOf, enter);
    } finally {
      System.clearProperty("boxd.fork.precopy");
    }
    long stop = call + (r.childRunningAfterCall().toNanos() - r.childRunningAfterStop().toNanos());
    System.err.printf("[fork %s] delta after the stop %d MiB in %d runs: %s%n", precopy, r.deltaBytes() >> 20, r.deltaRuns(), r.timings());
    r.child().agent(AGENT).run(ExecRequest.of("true"), AGENT);
    long exec = System.nanoTime() - stop;
    keep.add(new Vm(r.child(), dir));
    return new Sample(r.parentDowntime().toNanos() / 1000, r.childRunningAfterStop().toNanos() / 1000, exec / 1000,
        r.deltaBytes() + r.timings().precopyBytes());
  }

  /** A raw parent: the boxd-launched VM spoken to through its QMP connection, or a raw child. */
  private record RawParent(RawFork.Qmp qmp, long pid, Path[] disk, Path dir) {}

  private static RawFork.Qmp qmpOf(QemuVm vm) {
    return json -> {
      JsonNode request = JSON.readTree(json);
      @SuppressWarnings("unchecked")
      Map<String, Object> args = request.has("arguments") ? JSON.convertValue(request.get("arguments"), Map.class) : Map.of();
      try {
        return "{\"return\": " + vm.qmp().execute(request.get("execute").asText(), args) + "}";
      } catch (RuntimeException e) {
        return "{\"error\": \"" + e.getMessage().replace('"', '\'') + "\"}";
      }
    };
  }

  private Sample rawFork(RawParent parent, List<RawQemu> keep, List<RawParent> asParents) throws Exception {
    Path dir = newDir();
    Path disk = dir.resolve("disk.qcow2");
    Disks.createOverlayOnLive(parent.disk()[0], disk, Disks.STANDARD_SIZE);
    List<String> argv = QemuArgs.buildUnsandboxed(new QemuLaunch("rawfork", dev.boxd.vmm.Accelerator.detect().accelerator(), goldenOf.shape(),
        goldenOf.image().kernel(), goldenOf.image().initrd(), KernelArgs.forGuest(), goldenOf.ramFile(), false, disk, Optional.empty(),
        "02:b0:00:02:00:" + String.format("%02x", names % 256), new RunDir(dir), QemuLaunch.Incoming.DEVICES_ONLY, Optional.empty()));
    RawQemu child = RawQemu.start(argv, dir);
    keep.add(child);
    Path newTop = parent.dir().resolve("rawdisk-" + names + ".qcow2");
    Disks.createOverlayOnLive(parent.disk()[0], newTop, Disks.STANDARD_SIZE);
    Files.setPosixFilePermissions(newTop, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
    RawFork.Times t = RawFork.fork(parent.qmp(), parent.pid(), child, child.process.pid(), goldenOf.ramFile(),
        dir.resolve("devices.state"), newTop);
    long stop = System.nanoTime() - t.runningNanos();
    child.agentRoundTrip();
    long exec = System.nanoTime() - stop;
    parent.disk()[0] = newTop;
    asParents.add(new RawParent(child::command, child.process.pid(), new Path[] {disk}, dir));
    return new Sample(t.downNanos() / 1000, t.runningNanos() / 1000, exec / 1000, t.deltaBytes());
  }

  void timeForks(Golden golden, int iterations) throws Exception {
    goldenOf = golden;
    List<Vm> boxdVms = new ArrayList<>();
    List<RawQemu> raws = new ArrayList<>();
    try {
      Vm parent = restoreFilled(golden);
      boxdVms.add(parent);
      RawParent rawParent = new RawParent(qmpOf(parent.vm()), parent.vm().pid(), new Path[] {parent.vm().activeDisk()}, parent.dir());
      for (int gen = 1; gen <= 2; gen++) {
        List<Sample> boxd = new ArrayList<>();
        List<Sample> plain = new ArrayList<>();
        List<Sample> raw = new ArrayList<>();
        List<RawParent> rawChildren = new ArrayList<>();
        int keptBefore = boxdVms.size();
        for (int i = 0; i < iterations; i++) {
          // Only the first pre-copied and the first raw child live on (the next generation's
          // parents); the others go at once, or a 2 GiB run would hold a dozen GiB of children.
          List<Vm> discard = new ArrayList<>();
          boxd.add(boxdFork(parent, i == 0 ? boxdVms : discard, "auto"));
          plain.add(boxdFork(parent, discard, "off"));
          for (Vm vm : discard) {
            vm.vm().kill();
            vm.vm().close();
          }
          raw.add(rawFork(rawParent, raws, rawChildren));
          if (i > 0) {
            raws.removeLast().close();
            rawChildren.removeLast();
          }
        }
        print(golden.shape().memoryMib(), gen, boxd, plain, raw);
        // The next generation forks the first child of this one, on both sides.
        parent = boxdVms.get(keptBefore);
        rawParent = rawChildren.getFirst();
        // Its private pages are those its parent had plus its own: let it write a little first.
        sh(parent.vm(), "echo gen" + gen + " > /root/gen");
      }
    } finally {
      for (Vm vm : boxdVms) {
        vm.vm().kill();
        vm.vm().close();
      }
      for (RawQemu raw : raws) {
        raw.close();
      }
    }
  }

  private static void print(int mib, int gen, List<Sample> boxd, List<Sample> plain, List<Sample> raw) {
    System.out.printf("%n%d MiB guest, generation %d, private memory %d MiB (boxd) / %d MiB (raw); p50 of %d:%n", mib, gen,
        median(boxd, Sample::deltaBytes) >> 20, median(raw, Sample::deltaBytes) >> 20, boxd.size());
    System.out.printf("  %-18s %16s %18s %14s %10s%n", "", "boxd pre-copy", "boxd no pre-copy", "raw recipe", "pre/raw");
    line("parent downtime", median(boxd, Sample::downUs), median(plain, Sample::downUs), median(raw, Sample::downUs));
    line("child running", median(boxd, Sample::runningUs), median(plain, Sample::runningUs), median(raw, Sample::runningUs));
    line("child exec-ready", median(boxd, Sample::execUs), median(plain, Sample::execUs), median(raw, Sample::execUs));
  }

  private static void line(String what, long boxdUs, long plainUs, long rawUs) {
    System.out.printf("  %-18s %13.1f ms %15.1f ms %11.1f ms %9.2fx%n", what, boxdUs / 1000.0, plainUs / 1000.0, rawUs / 1000.0,
        (double) boxdUs / Math.max(1, rawUs));
  }

  private static long median(List<Sample> samples, java.util.function.ToLongFunction<Sample> f) {
    long[] v = samples.stream().mapToLong(f).sorted().toArray();
    return v[v.length / 2];
  }

  /**
   * Host memory added by {@code forks} forks of one VM: Rss and Pss of the children, the parent's
   * Pss, MemAvailable drop, and a child's memory by mapping (on average). With {@code BOXD_BENCH_KSM=1}, then
   * again once KSM has merged what it can ({@code BOXD_BENCH_KSM_PAGES} pages every
   * {@code BOXD_BENCH_KSM_SLEEP_MS}; default 4000 every 20 ms): how long that took, the CPU ksmd
   * used, and the result against {@link #TARGET_PERCENT}. Then each child runs a few commands
   * (timed), and its memory by mapping is shown again. The KSM settings are restored.
   */
  void memory(Golden golden, int forks) throws Exception {
    goldenOf = golden;
    List<Vm> vms = new ArrayList<>();
    MemoryMerging ksm = MemoryMerging.host();
    MemoryMerging.Settings ksmBefore = null;
    try {
      Vm parent = restoreFilled(golden);
      vms.add(parent);
      Thread.sleep(2000);
      long availBefore = memAvailableKib();
      long parentPssBefore = rollup(parent.vm().pid(), "Pss_Anon:");
      List<Vm> children = new ArrayList<>();
      List<Sample> samples = new ArrayList<>();
      for (int i = 0; i < forks; i++) {
        samples.add(boxdFork(parent, children));
      }
      vms.addAll(children);
      System.out.printf("%n%d forks of a %d MiB VM with %d MiB written:%n", forks, golden.shape().memoryMib(),
          golden.shape().memoryMib() / 2);
      System.out.printf("  child exec-ready p50 %.1f ms (max %.1f ms)%n", median(samples, Sample::execUs) / 1000.0,
          samples.stream().mapToLong(Sample::execUs).max().orElseThrow() / 1000.0);
      Thread.sleep(3000);
      printMemory("KSM off", parent, children, parentPssBefore, availBefore);
      if ("1".equals(System.getenv("BOXD_BENCH_KSM"))) {
        if (ksm.available()) {
          ksmBefore = merge(ksm, parent, children, parentPssBefore, availBefore);
        } else {
          System.out.println("  KSM: not available on this host");
        }
      }
      useChildren(children);
      List<SmapsGroups> groups = new ArrayList<>();
      for (Vm c : children) {
        groups.add(SmapsGroups.of(c.vm().pid(), goldenOf.ramFile()));
      }
      System.out.printf("  %-8s one child on average after those commands, by mapping:%n%s", "",
          SmapsGroups.sum(groups).table(children.size()));
    } finally {
      if (ksmBefore != null) {
        ksm.apply(ksmBefore);
      }
      for (Vm vm : vms) {
        vm.vm().kill();
        vm.vm().close();
      }
    }
  }

  /** Turns KSM on, waits until it has settled, prints the memory then; returns the settings before. */
  private MemoryMerging.Settings merge(MemoryMerging ksm, Vm parent, List<Vm> children, long parentPssBefore, long availBefore)
      throws Exception {
    int pages = Integer.parseInt(Optional.ofNullable(System.getenv("BOXD_BENCH_KSM_PAGES")).orElse("4000"));
    int sleep = Integer.parseInt(Optional.ofNullable(System.getenv("BOXD_BENCH_KSM_SLEEP_MS")).orElse("20"));
    long cpu0 = MemoryMerging.ksmdCpuMillis();
    long t0 = System.nanoTime();
    MemoryMerging.Settings before = ksm.enable(pages, sleep);
    long scans0 = ksm.stats().fullScans();
    List<Long> sharing = new ArrayList<>();
    long settledAt = -1;
    while ((System.nanoTime() - t0) / 1_000_000_000L < 900) {
      Thread.sleep(2000);
      MemoryMerging.Stats st = ksm.stats();
      sharing.add(st.pagesSharing());
      int n = sharing.size();
      System.err.printf("[ksm] %3d s: sharing %d MiB, shared %d MiB, full scans %d, ksmd cpu %d ms%n", (System.nanoTime() - t0) / 1_000_000_000L,
          st.pagesSharing() >> 8, st.pagesShared() >> 8, st.fullScans() - scans0, MemoryMerging.ksmdCpuMillis() - cpu0);
      // Settled: two full scans done and no growth of more than 1 % over the last three readings.
      if (st.fullScans() - scans0 >= 2 && n >= 4 && sharing.get(n - 1) - sharing.get(n - 4) <= sharing.get(n - 1) / 100) {
        settledAt = System.nanoTime();
        break;
      }
    }
    long cpu = MemoryMerging.ksmdCpuMillis() - cpu0;
    double secs = ((settledAt > 0 ? settledAt : System.nanoTime()) - t0) / 1e9;
    MemoryMerging.Stats st = ksm.stats();
    long added = printMemory("KSM on", parent, children, parentPssBefore, availBefore);
    System.out.printf("  %-8s KSM saves %d MiB host-wide (%d pages shared, %d sharing)%n", "", st.savedBytes() >> 20, st.pagesShared(),
        st.pagesSharing());
    System.out.printf("  KSM (%d pages every %d ms) %s after %.0f s; ksmd used %.1f s of CPU (%.0f %% of one core meanwhile)%n", pages,
        sleep, settledAt > 0 ? "settled" : "had not settled", secs, cpu / 1000.0, 100.0 * cpu / 1000.0 / secs);
    long idleCpu0 = MemoryMerging.ksmdCpuMillis();
    Thread.sleep(10_000);
    System.out.printf("  ksmd once settled: %.0f %% of one core%n", (MemoryMerging.ksmdCpuMillis() - idleCpu0) / 100.0);
    long written = goldenOf.shape().memoryMib() / 2 * 1024L;
    long target = written * TARGET_PERCENT / 100;
    System.out.printf("  target: %d forks add at most %d %% of one VM's written memory (%d MiB): %d MiB, %s%n", children.size(),
        TARGET_PERCENT, target >> 10, added >> 10, added <= target ? "met" : "missed by " + ((added - target) >> 10) + " MiB");
    return before;
  }

  /**
   * What a fork is for: it runs commands. Each child runs a few, timed: {@code true}, a command
   * with more code, and {@code true} again once the translation cache may be full (under TCG, a
   * cache too small for what the guest runs shows here as time spent translating again).
   */
  private static void useChildren(List<Vm> children) {
    List<Long> trues = new ArrayList<>();
    List<Long> cold = new ArrayList<>();
    List<Long> warm = new ArrayList<>();
    List<Long> later = new ArrayList<>();
    String work = "dpkg -l > /dev/null && ls -lR /usr/share > /dev/null";
    for (Vm c : children) {
      for (int i = 0; i < 5; i++) {
        trues.add(timeMicros(c, "true"));
      }
      cold.add(timeMicros(c, work));
      warm.add(timeMicros(c, work));
      for (int i = 0; i < 10; i++) {
        later.add(timeMicros(c, "true"));
      }
    }
    System.out.printf("  in the children: exec true p50 %.1f ms (mean %.1f); '%s' p50 %.0f ms the first time, %.0f ms the second;"
        + " then exec true p50 %.1f ms (mean %.1f)%n", p50(trues) / 1000.0, mean(trues) / 1000.0, work, p50(cold) / 1000.0,
        p50(warm) / 1000.0, p50(later) / 1000.0, mean(later) / 1000.0);
  }

  private static double mean(List<Long> v) {
    return v.stream().mapToLong(Long::longValue).average().orElseThrow();
  }

  private static long timeMicros(Vm vm, String command) {
    long t0 = System.nanoTime();
    vm.vm().agent(AGENT).run(ExecRequest.of(command).asUser("root"), AGENT).orThrow(command);
    return (System.nanoTime() - t0) / 1000;
  }

  private static long p50(List<Long> v) {
    return v.stream().sorted().toList().get(v.size() / 2);
  }

  /**
   * Prints the memory lines and returns the host memory the forks added (KiB): the children's
   * anonymous Pss and the growth of the parent's (the RAM template is tmpfs, paid for once
   * whoever maps it). Split into guest RAM (the template mapping's private pages) and QEMU's own.
   */
  private long printMemory(String label, Vm parent, List<Vm> children, long parentAnonBefore, long availBefore) throws IOException {
    long rss = 0;
    long anon = 0;
    long ramAnon = 0;
    for (Vm c : children) {
      rss += rollup(c.vm().pid(), "Rss:");
      anon += rollup(c.vm().pid(), "Pss_Anon:");
      ramAnon += ramAnonPss(c.vm().pid());
    }
    long parentAnon = rollup(parent.vm().pid(), "Pss_Anon:");
    long availAfter = memAvailableKib();
    long added = anon + parentAnon - parentAnonBefore;
    System.out.printf("  %-8s children Rss %d MiB, anonymous Pss %d MiB (%d MiB each: guest RAM %d, QEMU itself %d); parent anonymous"
        + " Pss %d -> %d MiB; host MemAvailable fell %d MiB%n", label, rss >> 10, anon >> 10, (anon / children.size()) >> 10,
        (ramAnon / children.size()) >> 10, ((anon - ramAnon) / children.size()) >> 10, parentAnonBefore >> 10, parentAnon >> 10,
        (availBefore - availAfter) >> 10);
    List<SmapsGroups> groups = new ArrayList<>();
    for (Vm c : children) {
      groups.add(SmapsGroups.of(c.vm().pid(), goldenOf.ramFile()));
    }
    System.out.printf("  %-8s one child on average, by mapping:%n%s", "", SmapsGroups.sum(groups).table(children.size()));
    long written = goldenOf.shape().memoryMib() / 2 * 1024L;
    System.out.printf("  %-8s added %d MiB = %.0f %% of one VM's written memory; guest RAM alone %d MiB = %.0f %%%n", "", added >> 10,
        100.0 * added / written, (ramAnon + parentAnon - parentAnonBefore) >> 10,
        100.0 * (ramAnon + parentAnon - parentAnonBefore) / written);
    return added;
  }

  /**
   * Pss of the guest RAM mapping's anonymous (private) pages (KiB): all anonymous Pss less that of
   * QEMU's other mappings, whose anonymous pages are its own (Anonymous counts them once each).
   */
  private long ramAnonPss(long pid) throws IOException {
    String ram = goldenOf.ramFile().toString();
    boolean in = false;
    long otherAnonymous = 0;
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
      if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
        in = line.endsWith(" " + ram);
      } else if (!in && line.startsWith("Anonymous:")) {
        otherAnonymous += Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return rollup(pid, "Pss_Anon:") - otherAnonymous;
  }

  private static long rollup(long pid, String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
      if (line.startsWith(field)) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new IOException("no " + field + " in smaps_rollup of " + pid);
  }

  private static long memAvailableKib() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith("MemAvailable:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new IOException("no MemAvailable");
  }
}
