package dev.boxd.server;

import dev.boxd.dns.DnsRole;
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
    System.out.println("DNS role (boxd server --dns, default " + DnsRole.DEFAULT_LISTEN + "): " + dnsPort(DnsRole.DEFAULT_LISTEN)
        + "; dig is " + (onPath("dig") ? "installed" : "missing (apt-get install bind9-dnsutils) to ask it"));
    return 0;
  }

  // Whether the default address is free for UDP and TCP, as the server will need it.
  private static String dnsPort(String address) {
    var socketAddress = DnsRole.listenAddress(address);
    try (var udp = new java.net.DatagramSocket(socketAddress); var tcp = new java.net.ServerSocket()) {
      tcp.bind(socketAddress);
      return "the address is free";
    } catch (java.io.IOException e) {
      return "the address is taken (" + e.getMessage() + "): a running boxd server holds it, or another program does;"
          + " choose another with --dns=ADDR:PORT, or --no-dns";
    }
  }

  private static boolean onPath(String tool) {
    return java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
        .anyMatch(dir -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, tool)));
  }
}
