package dev.boxd.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.vmm.KernelArgs;
import dev.boxd.vmm.MachineShape;
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
 * counted from the parent's stop, beside the same recipe done by hand ({@link RawFork}). Then the
 * host memory that ten forks of one VM add. Run with {@code bench/run.sh fork [MiB,MiB,...]
 * [iterations] [memory-forks]}.
 */
public final class ForkBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AGENT = Duration.ofSeconds(120);

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
        bench.timeForks(golden, iterations);
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

  private Path newDir() throws IOException {
    return Files.createDirectories(state.resolve("vm" + (++dirs)));
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
    Path dir = newDir();
    QemuDriver.Machine m = machine(dir, goldenOf.shape());
    long call = System.nanoTime();
    QemuDriver.ForkResult r = driver.fork(parent.vm(), parent.dir().resolve("disk-" + names + ".qcow2"), m, goldenOf, enter);
    long stop = call + (r.childRunningAfterCall().toNanos() - r.childRunningAfterStop().toNanos());
    System.err.printf("[fork] delta %d MiB in %d runs: %s%n", r.deltaBytes() >> 20, r.deltaRuns(), r.timings());
    r.child().agent(AGENT).run(ExecRequest.of("true"), AGENT);
    long exec = System.nanoTime() - stop;
    keep.add(new Vm(r.child(), dir));
    return new Sample(r.parentDowntime().toNanos() / 1000, r.childRunningAfterStop().toNanos() / 1000, exec / 1000, r.deltaBytes());
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
    List<String> argv = QemuArgs.build(new QemuLaunch("rawfork", dev.boxd.vmm.Accelerator.detect().accelerator(), goldenOf.shape(),
        goldenOf.image().kernel(), goldenOf.image().initrd(), KernelArgs.forGuest(), goldenOf.ramFile(), false, disk, Optional.empty(),
        "02:b0:00:02:00:" + String.format("%02x", names % 256), new RunDir(dir), QemuLaunch.Incoming.DEVICES_ONLY));
    RawQemu child = RawQemu.start(argv, dir);
    keep.add(child);
    Path newTop = parent.dir().resolve("rawdisk-" + names + ".qcow2");
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
        List<Sample> raw = new ArrayList<>();
        List<RawParent> rawChildren = new ArrayList<>();
        int keptBefore = boxdVms.size();
        for (int i = 0; i < iterations; i++) {
          boxd.add(boxdFork(parent, boxdVms));
          raw.add(rawFork(rawParent, raws, rawChildren));
        }
        print(golden.shape().memoryMib(), gen, boxd, raw);
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

  private static void print(int mib, int gen, List<Sample> boxd, List<Sample> raw) {
    System.out.printf("%n%d MiB guest, generation %d, delta %d MiB (boxd) / %d MiB (raw):%n", mib, gen,
        median(boxd, Sample::deltaBytes) >> 20, median(raw, Sample::deltaBytes) >> 20);
    line("parent downtime", median(boxd, Sample::downUs), median(raw, Sample::downUs));
    line("child running", median(boxd, Sample::runningUs), median(raw, Sample::runningUs));
    line("child exec-ready", median(boxd, Sample::execUs), median(raw, Sample::execUs));
  }

  private static void line(String what, long boxdUs, long rawUs) {
    System.out.printf("  %-18s boxd p50 %8.1f ms | raw recipe p50 %8.1f ms | ratio %.2fx%n", what, boxdUs / 1000.0, rawUs / 1000.0,
        (double) boxdUs / Math.max(1, rawUs));
  }

  private static long median(List<Sample> samples, java.util.function.ToLongFunction<Sample> f) {
    long[] v = samples.stream().mapToLong(f).sorted().toArray();
    return v[v.length / 2];
  }

  /** Host memory added by {@code forks} forks of one VM: Rss and Pss of the children, MemAvailable drop. */
  void memory(Golden golden, int forks) throws Exception {
    goldenOf = golden;
    List<Vm> vms = new ArrayList<>();
    try {
      Vm parent = restoreFilled(golden);
      vms.add(parent);
      Thread.sleep(2000);
      long availBefore = memAvailableKib();
      long parentPssBefore = rollup(parent.vm().pid(), "Pss:");
      List<Vm> children = new ArrayList<>();
      for (int i = 0; i < forks; i++) {
        boxdFork(parent, children);
      }
      vms.addAll(children);
      Thread.sleep(3000);
      long rss = 0;
      long pss = 0;
      for (Vm c : children) {
        rss += rollup(c.vm().pid(), "Rss:");
        pss += rollup(c.vm().pid(), "Pss:");
      }
      long parentPssAfter = rollup(parent.vm().pid(), "Pss:");
      long availAfter = memAvailableKib();
      System.out.printf("%n%d forks of a %d MiB VM with %d MiB written:%n", forks, golden.shape().memoryMib(),
          golden.shape().memoryMib() / 2);
      System.out.printf("  children: Rss %d MiB, Pss %d MiB in total (%d MiB Pss each); parent Pss %d -> %d MiB;"
          + " host MemAvailable fell %d MiB%n", rss >> 10, pss >> 10, (pss / forks) >> 10, parentPssBefore >> 10, parentPssAfter >> 10,
          (availBefore - availAfter) >> 10);
    } finally {
      for (Vm vm : vms) {
        vm.vm().kill();
        vm.vm().close();
      }
    }
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
