package dev.boxd.server;

import dev.boxd.vmm.Accelerator;
import dev.boxd.vmm.MemoryMerging;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "doctor", description = "Report what this host can run VMs with.")
final class DoctorCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    var choice = Accelerator.detect();
    System.out.println("accelerator: " + choice.accelerator().name().toLowerCase() + " (" + choice.reason() + ")");
    var ksm = MemoryMerging.host();
    System.out.println("memory merging (boxd server --merge-memory): " + ksm.unavailable().map(why -> "unavailable: " + why)
        .orElseGet(() -> "available; KSM is " + (ksm.settings().run() == 1 ? "on" : "off") + " now"));
    return 0;
  }
}
