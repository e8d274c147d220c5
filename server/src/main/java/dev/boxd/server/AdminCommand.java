package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "admin", description = "Operator commands for a running server.", subcommands = {AdminCommand.Approve.class, AdminCommand.AddKey.class,
    AdminCommand.SetQuota.class, AdminCommand.Unclaimed.class, AdminCommand.RemoveUnclaimed.class, AdminCommand.SetAcmeChallenge.class,
    AdminCommand.ClearAcmeChallenge.class})
final class AdminCommand {
  @Option(names = "--data", description = "data directory of the server (default ~/.local/share/boxd)")
  Path data;

  String send(String request) {
    Path socket = AdminServer.socketOf(Paths.dataDir(data));
    if (!Files.exists(socket)) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "no boxd server is running with data in " + Paths.dataDir(data) + " (no " + socket + ")");
    }
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      Channels.newOutputStream(channel).write((request + "\n").getBytes(StandardCharsets.UTF_8));
      String answer = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8)).readLine();
      if (answer == null) {
        throw new BoxdException(ErrorCode.UNAVAILABLE, "the server closed the admin connection");
      }
      if (answer.startsWith("error ")) {
        String[] parts = answer.split(" ", 3);
        throw new BoxdException(ErrorCode.valueOf(parts[1]), parts.length > 2 ? parts[2] : "");
      }
      return answer.substring(3);
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.UNAVAILABLE, "cannot reach the server's admin socket " + socket + ": " + e.getMessage());
    }
  }

  @Command(name = "approve", description = "Link the key of a pending registration to a user (new or existing).")
  static final class Approve implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Parameters(index = "0", description = "the code the user was shown")
    String code;

    @Option(names = "--user", description = "user name to link the key to (default: a new user named after the code)")
    String user;

    @Override
    public Integer call() {
      System.out.println(admin.send("approve " + code + (user == null ? "" : " " + user)));
      return 0;
    }
  }

  @Command(name = "add-key", description = "Link a public key file to a user, creating the user if needed.")
  static final class AddKey implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Option(names = "--user", required = true, description = "user name")
    String user;

    @Parameters(index = "0", description = "public key file (e.g. ~/.ssh/id_ed25519.pub)")
    Path keyFile;

    @Override
    public Integer call() throws IOException {
      if (!Files.isRegularFile(keyFile)) {
        throw BoxdException.invalid("no such key file: " + keyFile);
      }
      String key = Files.readString(keyFile).lines().filter(l -> !l.isBlank()).findFirst()
          .orElseThrow(() -> BoxdException.invalid("key file " + keyFile + " is empty"));
      System.out.println(admin.send("add-key " + user + " " + key.strip()));
      return 0;
    }
  }

  @Command(name = "set-quota", description = "Change what a user may hold; limits not given keep their value.")
  static final class SetQuota implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Option(names = "--user", required = true, description = "user name")
    String user;

    @Option(names = "--vms", description = "VMs (running, standby, hibernated and stopped all count; default 10)")
    Long vms;

    @Option(names = "--vcpus", description = "vCPUs of all the user's VMs together (default 20)")
    Long vcpus;

    @Option(names = "--memory-mib", description = "memory of all the user's VMs together, in MiB (default 81920)")
    Long memoryMib;

    @Option(names = "--disk-gb", description = "disk of all the user's VMs together, in GB (default 1000)")
    Long diskGb;

    @Option(names = "--vm-vcpus", description = "largest vCPU count of one VM (default 2)")
    Long vmVcpus;

    @Option(names = "--vm-memory-mib", description = "largest memory of one VM, in MiB (default 8192)")
    Long vmMemoryMib;

    @Option(names = "--vm-disk-gb", description = "largest disk of one VM, in GB (default 100)")
    Long vmDiskGb;

    @Override
    public Integer call() {
      StringBuilder changes = new StringBuilder();
      java.util.Map<String, Long> given = new java.util.LinkedHashMap<>();
      given.put("vms", vms);
      given.put("vcpus", vcpus);
      given.put("memory-mib", memoryMib);
      given.put("disk-gb", diskGb);
      given.put("vm-vcpus", vmVcpus);
      given.put("vm-memory-mib", vmMemoryMib);
      given.put("vm-disk-gb", vmDiskGb);
      given.forEach((name, value) -> {
        if (value != null) {
          changes.append(' ').append(name).append('=').append(value);
        }
      });
      if (changes.isEmpty()) {
        throw BoxdException.invalid("no limit to change: give at least one of --vms, --vcpus, --memory-mib, --disk-gb, "
            + "--vm-vcpus, --vm-memory-mib, --vm-disk-gb");
      }
      System.out.println(admin.send("set-quota " + user + changes));
      return 0;
    }
  }

  @Command(name = "unclaimed", description = "List VMs this host runs that the state does not know (kept, never destroyed on sight).")
  static final class Unclaimed implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Override
    public Integer call() {
      System.out.println(admin.send("unclaimed"));
      return 0;
    }
  }

  @Command(name = "remove-unclaimed", description = "End an unclaimed VM and delete its disk (see: boxd admin unclaimed).")
  static final class RemoveUnclaimed implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Parameters(index = "0", paramLabel = "VM-ID")
    String vmId;

    @Override
    public Integer call() {
      System.out.println(admin.send("remove-unclaimed " + vmId));
      return 0;
    }
  }

  @Command(name = "set-acme-challenge",
      description = "Serve TXT values for an ACME DNS-01 challenge (e.g. from an ACME client's manual hook) at NAME through the dns role.")
  static final class SetAcmeChallenge implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Parameters(index = "0", paramLabel = "NAME", description = "the record's name, _acme-challenge.DOMAIN (e.g. _acme-challenge.localhost)")
    String name;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "VALUE", description = "the TXT values (one per name being proven)")
    java.util.List<String> values;

    @Option(names = "--expires-in", defaultValue = "3600", description = "seconds it is served (default ${DEFAULT-VALUE})")
    long expiresIn;

    @Override
    public Integer call() {
      System.out.println(admin.send("set-acme-challenge " + canonical(name) + " " + expiresIn + " " + String.join(" ", values)));
      return 0;
    }
  }

  @Command(name = "clear-acme-challenge", description = "Stop serving the TXT values of an ACME DNS-01 challenge.")
  static final class ClearAcmeChallenge implements Callable<Integer> {
    @ParentCommand
    AdminCommand admin;

    @Parameters(index = "0", paramLabel = "NAME", description = "the record's name, _acme-challenge.DOMAIN")
    String name;

    @Override
    public Integer call() {
      System.out.println(admin.send("clear-acme-challenge " + canonical(name)));
      return 0;
    }
  }

  // The log holds names in lower case without the final dot; DNS names are case-insensitive.
  private static String canonical(String name) {
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
  }
}
