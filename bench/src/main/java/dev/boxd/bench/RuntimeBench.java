package dev.boxd.bench;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.guest.ImageStore;
import dev.boxd.net.NetworkConfig;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.vmm.KernelArgs;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuArgs;
import dev.boxd.vmm.QemuLaunch;
import dev.boxd.vmm.RunDir;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmSpec;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * VM runtime benchmarks, each beside its anchor run in the same process:
 * create → first exec against a raw restore of the same golden; pause/resume against raw QMP
 * stop/cont; exec of {@code true} on a warm VM; copy throughput; host memory per idle VM.
 * Run with {@code bench/run.sh runtime [iterations]}.
 */
public final class RuntimeBench {
  private static final MachineShape SHAPE = new MachineShape(1, 1024);
  private static final int WARMUP_CYCLES = 300;

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Path state = Files.createTempDirectory("boxd-bench-");
    Path cache = Path.of(Optional.ofNullable(System.getenv("BOXD_DATA")).orElse(System.getProperty("user.home") + "/.local/share/boxd"));
    Path recipe = Path.of(System.getProperty("boxd.home", ".")).resolve("guest");
    var subnet = Ipv4Subnet.parse("10.250.0.0/24");
    // BOXD_BENCH_IMAGE_RECIPE=small measures the small image beside the default one
    var config = new RuntimeConfig(state, cache, recipe, new NetworkConfig("bxbench", "br0", subnet, Optional.empty()))
        .withImageRecipe(Optional.ofNullable(System.getenv("BOXD_BENCH_IMAGE_RECIPE")).orElse(ImageStore.DEFAULT_RECIPE));
    var runtime = new LocalVmRuntime(config);
    try {
      Golden golden = runtime.golden(SHAPE, line -> System.err.println("[golden] " + line));
      System.out.printf("accelerator: %s; shape %s; image %s (%s); %d iterations%n%n", runtime.driver().accelerator().accelerator(), SHAPE.key(),
          golden.image().shortHash(), config.imageRecipe(), iterations);
      Set<Ipv4> used = new HashSet<>();

      // 1. create -> first exec
      Stats boxdCreate = new Stats();
      Stats rawCreate = new Stats();
      for (int i = 0; i < iterations; i++) {
        Ipv4 ip = subnet.allocate(used);
        long t0 = System.nanoTime();
        VmInfo vm = runtime.create(new VmSpec("bench" + i, "bench-" + i, "bench", SHAPE, ip));
        execTrue(runtime, vm.id());
        boxdCreate.add((System.nanoTime() - t0) / 1000);
        runtime.destroy(vm.id());
        rawCreate.add(rawRestore(golden, state.resolve("raw" + i)));
      }
      row("create -> first exec (cold)", boxdCreate, rawCreate, "raw restore + agent round trip");

      // 1b. the same from the warm pool, each create taking a warm VM (the pool refills between)
      runtime.keepWarm(SHAPE, 1);
      Stats warmCreate = new Stats();
      Stats rawCreate2 = new Stats();
      for (int i = 0; i < iterations; i++) {
        awaitWarmVm(runtime);
        Ipv4 ip = subnet.allocate(used);
        long t0 = System.nanoTime();
        VmInfo vm = runtime.create(new VmSpec("warm" + i, "warm-" + i, "bench", SHAPE, ip));
        execTrue(runtime, vm.id());
        warmCreate.add((System.nanoTime() - t0) / 1000);
        runtime.destroy(vm.id());
        awaitWarmVm(runtime); // so that the pool's restore does not run beside the anchor's
        rawCreate2.add(rawRestore(golden, state.resolve("rawb" + i)));
      }
      runtime.keepWarm(SHAPE, 0);
      row("create -> first exec (warm)", warmCreate, rawCreate2, "raw restore + agent round trip");

      // 2. pause/resume, 3. exec true, 4. copy, 5. memory — on one warm VM
      VmInfo vm = runtime.create(new VmSpec("steady", "steady", "bench", SHAPE, subnet.allocate(used)));
      // Both sides run warm, as a long-running worker would: JIT-compiled, sockets hot.
      for (int i = 0; i < WARMUP_CYCLES; i++) {
        runtime.pause(vm.id());
        runtime.resume(vm.id());
      }
      Stats boxdPause = new Stats();
      Stats boxdResume = new Stats();
      Stats boxdRoundTrip = new Stats();
      for (int i = 0; i < iterations * 5; i++) {
        long t0 = System.nanoTime();
        boxdPause.add(runtime.pause(vm.id()).micros());
        boxdResume.add(runtime.resume(vm.id()).micros());
        boxdRoundTrip.add((System.nanoTime() - t0) / 1000);
      }
      Stats rawRoundTrip = new Stats();
      Stats rawResume = new Stats();
      Path rawRun = state.resolve("raw-pause");
      try (RawQemu raw = startRaw(golden, rawRun)) {
        raw.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}");
        raw.command("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat " + golden.deviceState() + "\"}}");
        raw.awaitMigrationCompleted();
        raw.command("{\"execute\":\"cont\"}");
        for (int i = 0; i < WARMUP_CYCLES; i++) {
          raw.command("{\"execute\":\"stop\"}");
          raw.command("{\"execute\":\"cont\"}");
        }
        for (int i = 0; i < iterations * 5; i++) {
          long t0 = System.nanoTime();
          raw.command("{\"execute\":\"stop\"}");
          long t1 = System.nanoTime();
          raw.command("{\"execute\":\"cont\"}");
          long t2 = System.nanoTime();
          rawResume.add((t2 - t1) / 1000);
          rawRoundTrip.add((t2 - t0) / 1000);
        }
      }
      row("pause+resume round trip", boxdRoundTrip, rawRoundTrip, "raw QMP stop + cont");
      row("resume (resume_us)", boxdResume, rawResume, "raw QMP cont");
      System.out.printf("  suspend_us p50 %d%n", boxdPause.p50());

      Stats exec = new Stats();
      for (int i = 0; i < Math.max(50, iterations * 5); i++) {
        long t0 = System.nanoTime();
        execTrue(runtime, vm.id());
        exec.add((System.nanoTime() - t0) / 1000);
      }
      System.out.printf("%-28s p50 %8.1f ms   p99 %8.1f ms   (%d runs)%n", "exec true (warm VM)", exec.p50() / 1000.0, exec.p99() / 1000.0, exec.count());

      long size = 100L << 20;
      long t0 = System.nanoTime();
      runtime.upload(vm.id(), "bench.bin", 0644, new ZeroStream(size));
      double up = size / 1e6 / ((System.nanoTime() - t0) / 1e9);
      t0 = System.nanoTime();
      runtime.download(vm.id(), "bench.bin", OutputStream.nullOutputStream());
      double down = size / 1e6 / ((System.nanoTime() - t0) / 1e9);
      System.out.printf("%-28s upload %.0f MB/s   download %.0f MB/s   (100 MiB)%n", "copy throughput", up, down);

      Thread.sleep(2000);
      var memory = Memory.of(runtime.info(vm.id()).pid(), golden.ramFile());
      System.out.printf("%-28s QEMU outside guest RAM %d MiB (PSS); guest RAM private to this VM %d MiB; guest RAM %d MiB%n",
          "host memory, idle VM", memory.overheadPssKib() >> 10, memory.ramPrivateKib() >> 10, SHAPE.memoryMib());
      runtime.destroy(vm.id());
    } finally {
      for (VmInfo vm : runtime.list()) {
        runtime.destroy(vm.id());
      }
      runtime.close();
      runtime.network().tearDown();
      dev.boxd.os.Trees.delete(state);
    }
  }

  private static void awaitWarmVm(LocalVmRuntime runtime) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (runtime.warmVms() == 0) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no warm VM within 5 minutes");
      }
      Thread.sleep(10);
    }
  }

  private static void execTrue(LocalVmRuntime runtime, String id) {
    try (var session = runtime.exec(id, ExecRequest.of("true"), OutputStream.nullOutputStream(), OutputStream.nullOutputStream())) {
      session.stdin().close();
      if (session.awaitExit(Duration.ofSeconds(60)) != 0) {
        throw new IllegalStateException("true failed");
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static RawQemu startRaw(Golden golden, Path run) throws Exception {
    return RawQemu.start(rawArgv(golden, run), run);
  }

  /** The same command line boxd would use, with a fresh overlay and no network. */
  static List<String> rawArgv(Golden golden, Path run) throws java.io.IOException {
    Files.createDirectories(run);
    Path disk = run.resolve("disk.qcow2");
    Disks.createOverlay(golden.disk(), "qcow2", disk, Disks.STANDARD_SIZE);
    return QemuArgs.buildUnsandboxed(new QemuLaunch("raw", dev.boxd.vmm.Accelerator.detect().accelerator(), SHAPE, golden.image().kernel(),
        golden.image().initrd(), KernelArgs.forGuest(), golden.ramFile(), false, disk, Optional.empty(), "02:b0:00:00:00:02",
        new RunDir(run), QemuLaunch.Incoming.MIGRATION, Optional.empty()));
  }

  /** Restore timed from process start to the agent's answer to one exec; the overhead is made untimed. */
  private static long rawRestore(Golden golden, Path run) throws Exception {
    List<String> argv = rawArgv(golden, run);
    long t0 = System.nanoTime();
    try (RawQemu raw = RawQemu.start(argv, run)) {
      raw.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}");
      raw.command("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat " + golden.deviceState() + "\"}}");
      raw.awaitMigrationCompleted();
      String status = raw.command("{\"execute\":\"query-status\"}");
      if (!status.contains("\"status\": \"running\"")) {
        raw.command("{\"execute\":\"cont\"}");
      }
      raw.agentRoundTrip();
      long micros = (System.nanoTime() - t0) / 1000;
      return micros;
    } finally {
      dev.boxd.os.Trees.delete(run);
    }
  }

  private static void row(String what, Stats boxd, Stats anchor, String anchorName) {
    System.out.printf("%-28s boxd p50 %9.2f ms p99 %9.2f ms | %s p50 %9.2f ms | ratio %.2fx%n", what,
        boxd.p50() / 1000.0, boxd.p99() / 1000.0, anchorName, anchor.p50() / 1000.0, (double) boxd.p50() / Math.max(1, anchor.p50()));
  }

  static final class ZeroStream extends InputStream {
    private long left;

    ZeroStream(long size) {
      left = size;
    }

    @Override
    public int read() {
      return left-- > 0 ? 0 : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left <= 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      left -= n;
      return n;
    }
  }
}
