package dev.boxd.bench;

import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.Golden;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;

/**
 * The anchors of {@code bench/power.sh}: the runtime's own pause/resume figure, one VM of the
 * server's shape in an in-process {@link LocalVmRuntime}, and raw QEMU, the same golden restored by
 * hand ({@link RawQemu}: a plain QEMU, QMP {@code stop}/{@code cont} as raw JSON lines, a blocking
 * read). Each is paused and resumed ROUNDS times at the pace of the SSH rounds it is compared with
 * (PACING_MS before each call), the two taking turns round by round so that both see the same load
 * on the machine, then ROUNDS times back to back (as {@code RuntimeBench} does, though without its
 * long warm-up). Each timing is printed on stdout as "paced|back-to-back suspend_us|resume_us N"
 * (the runtime) or "raw-paced|raw-back-to-back suspend_us|resume_us N" (raw QEMU: the QMP round
 * trip); logs go to stderr. The VMs' files live under STATE_DIR (made if missing, deleted at the
 * end), so the caller knows where to look for anything left should this process be killed.
 * Usage: PauseResumeBench ROUNDS PACING_MS STATE_DIR
 */
public final class PauseResumeBench {
  // The shape bench/lib/server.sh gives the server (--vcpus 1 --memory 1024), so both sides pause the same machine.
  private static final MachineShape SHAPE = new MachineShape(1, 1024);

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: PauseResumeBench ROUNDS PACING_MS STATE_DIR");
      System.exit(2);
    }
    int rounds = Integer.parseInt(args[0]);
    long pacingMillis = Long.parseLong(args[1]);
    Path state = Files.createDirectories(Path.of(args[2]));
    Path cache = Path.of(Optional.ofNullable(System.getenv("BOXD_DATA")).orElse(System.getProperty("user.home") + "/.local/share/boxd"));
    Path recipe = Path.of(System.getProperty("boxd.home", ".")).resolve("guest");
    var subnet = Ipv4Subnet.parse("10.249.0.0/24");
    var runtime = new LocalVmRuntime(new RuntimeConfig(state, cache, recipe, new NetworkConfig("bxbenchpa", "br0", subnet, Optional.empty())));
    try {
      System.out.println("accelerator " + runtime.driver().accelerator().accelerator());
      VmInfo vm = runtime.create(new VmSpec("anchor", "anchor", "bench", SHAPE, subnet.allocate(new HashSet<>())));
      // One untimed round, as on the SSH side: the first call loads classes on both.
      runtime.pause(vm.id());
      runtime.resume(vm.id());
      // Paced like the SSH rounds, and first, so as warm as the server was: the guest runs, and stands
      // frozen, about as long between calls as it does there (which also takes the same clock-correction
      // path on resume), and each call wakes a QEMU and a runtime that were idle.
      try (RawQemu raw = startRaw(runtime, state.resolve("raw"))) {
        raw.command("{\"execute\":\"stop\"}");
        raw.command("{\"execute\":\"cont\"}");
        rounds(runtime, vm.id(), raw, rounds, pacingMillis, "paced", "raw-paced");
        rounds(runtime, vm.id(), raw, rounds, 0, "back-to-back", "raw-back-to-back");
      }
    } finally {
      for (VmInfo left : runtime.list()) {
        runtime.destroy(left.id());
      }
      runtime.close();
      runtime.network().tearDown();
      dev.boxd.os.Trees.delete(state);
    }
  }

  private static void rounds(LocalVmRuntime runtime, String vmId, RawQemu raw, int rounds, long pacingMillis, String label,
      String rawLabel) throws Exception {
    for (int i = 0; i < rounds; i++) {
      Thread.sleep(pacingMillis);
      System.out.println(label + " suspend_us " + runtime.pause(vmId).micros());
      Thread.sleep(pacingMillis);
      System.out.println(label + " resume_us " + runtime.resume(vmId).micros());
      Thread.sleep(pacingMillis);
      System.out.println(rawLabel + " suspend_us " + timed(raw, "stop"));
      Thread.sleep(pacingMillis);
      System.out.println(rawLabel + " resume_us " + timed(raw, "cont"));
    }
  }

  /** The QMP round trip of one command on the raw QEMU, in microseconds. */
  private static long timed(RawQemu raw, String command) throws java.io.IOException {
    long t0 = System.nanoTime();
    String reply = raw.command("{\"execute\":\"" + command + "\"}");
    long micros = (System.nanoTime() - t0) / 1000;
    if (reply.contains("\"error\"")) {
      throw new IllegalStateException("raw QEMU refused " + command + ": " + reply);
    }
    return micros;
  }

  /** A plain QEMU on the golden of the runtime's shape, restored and running. */
  private static RawQemu startRaw(LocalVmRuntime runtime, Path run) throws Exception {
    Golden golden = runtime.golden(SHAPE, line -> System.err.println("[golden] " + line));
    RawQemu raw = RawQemu.start(RuntimeBench.rawArgv(golden, run), run);
    try {
      raw.command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}");
      raw.command("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat " + golden.deviceState() + "\"}}");
      // The load is done when the run state leaves "inmigrate" (query-migrate of this QEMU may
      // answer {} once the incoming side is gone).
      long deadline = System.nanoTime() + java.time.Duration.ofMinutes(1).toNanos();
      String status;
      while ((status = raw.command("{\"execute\":\"query-status\"}")).contains("\"inmigrate\"")) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("raw QEMU still loading the golden's state after a minute: " + status);
        }
        Thread.sleep(5);
      }
      if (!status.contains("\"status\": \"running\"")) {
        raw.command("{\"execute\":\"cont\"}");
      }
      return raw;
    } catch (Exception e) {
      raw.close();
      throw e;
    }
  }
}
