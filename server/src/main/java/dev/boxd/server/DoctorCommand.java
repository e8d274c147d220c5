package dev.boxd.server;

import dev.boxd.vmm.Accelerator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "doctor", description = "Report what this host can run VMs with.")
final class DoctorCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    var choice = Accelerator.detect();
    System.out.println("accelerator: " + choice.accelerator().name().toLowerCase() + " (" + choice.reason() + ")");
    return 0;
  }
}
