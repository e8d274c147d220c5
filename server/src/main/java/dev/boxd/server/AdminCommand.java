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
    AdminCommand.Unclaimed.class, AdminCommand.RemoveUnclaimed.class})
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
}
