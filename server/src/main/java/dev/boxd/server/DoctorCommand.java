package dev.boxd.server;

import dev.boxd.net.EgressLink;
import dev.boxd.vmm.Accelerator;
import dev.boxd.vmm.MemoryMerging;
import dev.boxd.vmm.QemuUser;
import dev.boxd.vmm.cgroup.Cgroups;
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
    System.out.println("QEMU user: " + QemuUser.lookup().map(ids -> QemuUser.NAME + " (uid " + ids.uid() + "; QEMU runs as it, in a seccomp sandbox)")
        .orElse(QemuUser.NAME + " is missing (the server creates it at start; or run scripts/install-deps.sh)"));
    System.out.println("cgroups: " + Cgroups.host().describe());
    System.out.println("VM egress (boxd server --no-egress turns it off): " + EgressLink.describeHost());
    return 0;
  }
}
