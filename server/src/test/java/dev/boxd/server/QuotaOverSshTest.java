package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An account's limits over SSH: a VM above the per-VM size, past the totals or past the host's
 * memory is refused with RESOURCE_EXHAUSTED and a message saying which limit, and nothing is made;
 * the operator changes the limits with {@code boxd admin set-quota}.
 */
class QuotaOverSshTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer("--warm-pool", "0");

  @Test
  void overQuotaVmsAreRefusedClearlyAndLeaveNothing() throws Exception {
    SshUser dave = live.user("dave");
    long dirsBefore = vmDirs();

    JsonNode big = refused(dave.run("new", "--name=big", "--memory=16G", "--json"));
    assertThat(big.path("message").asText()).contains("per-VM limit", "asked 1 vCPU / 16384 MiB", "8192 MiB");

    assertThat(admin("set-quota", "--user", "dave", "--memory-mib", "1536", "--vcpus", "1")).contains("1 vCPU / 1536 MiB / 1000 GB in total");
    json(dave.run("new", "--name=one", "--json"));
    try {
      JsonNode cpu = refused(dave.run("new", "--name=two", "--json"));
      assertThat(cpu.path("message").asText()).contains("vCPU quota reached: this account's VMs hold 1 of 1");
      admin("set-quota", "--user", "dave", "--vcpus", "4");
      JsonNode memory = refused(dave.run("new", "--name=two", "--json"));
      assertThat(memory.path("message").asText())
          .contains("memory quota reached: this account's VMs hold 1024 MiB of 1536 MiB and this VM asks for 1024 MiB");
      JsonNode fork = refused(dave.run("fork", "one", "--json"));
      assertThat(fork.path("message").asText()).contains("memory quota reached");

      // Past the host: a per-VM limit above the host's RAM lets the worker's own check speak.
      admin("set-quota", "--user", "dave", "--vm-memory-mib", "262144", "--memory-mib", "1000000");
      JsonNode host = refused(dave.run("new", "--name=huge", "--memory=200G", "--json"));
      assertThat(host.path("message").asText()).contains("worker \"w1\" has no room for 204800 MiB more", "x 3/2");

      assertThat(json(dave.run("list", "--json"))).hasSize(1);
      assertThat(vmDirs()).as("a refused VM leaves no directory").isEqualTo(dirsBefore + 1);
    } finally {
      dave.run("destroy", "-y", "one");
    }
    assertThat(admin("set-quota", "--user", "nobody", "--vms", "3")).contains("error: no user named \"nobody\"");
  }

  private static JsonNode refused(SshUser.Run run) throws IOException {
    assertThat(run.exit()).as("exit code; stdout %s stderr %s", run.out(), run.err()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED.exitCode());
    JsonNode error = LiveServer.JSON.readTree(run.out()).path("error");
    assertThat(error.path("code").asText()).isEqualTo("RESOURCE_EXHAUSTED");
    return error;
  }

  private static long vmDirs() throws IOException {
    Path vms = live.server().dataDir.resolve("worker").resolve("vms");
    if (!Files.isDirectory(vms)) {
      return 0;
    }
    try (Stream<Path> dirs = Files.list(vms)) {
      return dirs.count();
    }
  }

  private static String admin(String... args) throws IOException, InterruptedException {
    var command = new java.util.ArrayList<>(java.util.List.of(ProcessHandle.current().info().command().orElseThrow(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "admin", "--data", live.server().dataDir.toString()));
    command.addAll(java.util.List.of(args));
    Process admin = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(admin.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    admin.waitFor();
    return out;
  }
}
