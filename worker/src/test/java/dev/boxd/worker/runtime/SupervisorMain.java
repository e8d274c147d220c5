package dev.boxd.worker.runtime;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.testkit.TestPaths;
import dev.boxd.worker.testing.RuntimeFixture;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A supervisor in a process of its own, so a test can kill it with SIGKILL: keeps one warm VM
 * (the first create takes it), creates the VMs given as {@code id:name:ip} arguments, prints
 * {@code VM <id> <qemu pid>} for each, waits until a warm VM waits again, prints {@code READY},
 * and waits to be killed.
 * Arguments: stateDir cacheDir recipeDir namespace subnet owner vm...
 */
public final class SupervisorMain {
  public static void main(String[] args) throws InterruptedException {
    var network = new NetworkConfig(args[3], "br0", Ipv4Subnet.parse(args[4]), Optional.empty());
    // the image the parent test boots ($BOXD_TEST_IMAGE_RECIPE is inherited)
    var runtime = new LocalVmRuntime(new RuntimeConfig(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), network)
        .withImageRecipe(TestPaths.imageRecipe()));
    runtime.keepWarm(RuntimeFixture.SHAPE, 1);
    awaitWarmVm(runtime);
    for (int i = 6; i < args.length; i++) {
      String[] vm = args[i].split(":");
      VmInfo info = runtime.create(new VmSpec(vm[0], vm[1], args[5], RuntimeFixture.SHAPE, Ipv4.parse(vm[2])));
      System.out.println("VM " + info.id() + " " + info.pid());
    }
    awaitWarmVm(runtime);
    System.out.println("READY");
    System.out.flush();
    Thread.currentThread().join();
  }

  private static void awaitWarmVm(LocalVmRuntime runtime) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(3)).until(() -> runtime.warmVms() == 1);
  }
}
