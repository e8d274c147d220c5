package dev.boxd.bench;

import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;

/**
 * The runtime's own pause/resume figure, the anchor of {@code bench/power.sh}: one VM of the
 * server's shape in an in-process {@link LocalVmRuntime}, paused and resumed ROUNDS times at the pace
 * of the SSH rounds it is compared with (PACING_MS before each call), then ROUNDS times back to back
 * (as {@code RuntimeBench} does, though without its long warm-up). Each timing the runtime returns
 * is printed on stdout as "paced|back-to-back suspend_us|resume_us N"; logs go to stderr. Its VM's
 * files live under STATE_DIR (made if missing, deleted at the end), so the caller knows where to look
 * for anything left should this process be killed.
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
      rounds(runtime, vm.id(), rounds, pacingMillis, "paced");
      rounds(runtime, vm.id(), rounds, 0, "back-to-back");
    } finally {
      for (VmInfo left : runtime.list()) {
        runtime.destroy(left.id());
      }
      runtime.close();
      runtime.network().tearDown();
      dev.boxd.os.Trees.delete(state);
    }
  }

  private static void rounds(LocalVmRuntime runtime, String vmId, int rounds, long pacingMillis, String label) throws InterruptedException {
    for (int i = 0; i < rounds; i++) {
      Thread.sleep(pacingMillis);
      System.out.println(label + " suspend_us " + runtime.pause(vmId).micros());
      Thread.sleep(pacingMillis);
      System.out.println(label + " resume_us " + runtime.resume(vmId).micros());
    }
  }
}
