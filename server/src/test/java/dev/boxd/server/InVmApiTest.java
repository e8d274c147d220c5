package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.testkit.TestPaths;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gRPC API inside VMs (issue 14) on a real server with real VMs: a Python client made by stock
 * grpc_tools, run inside a VM, calls the default gateway's port 9003 in plaintext with no key and
 * is that VM's owner: it sees its owner's VMs and no one else's, and its own VM when it names none.
 * An isolated VM is refused with the CLI's reason. The port listens inside the VM network namespace
 * and on no address of the host.
 */
class InVmApiTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser owner;
  static SshUser other;
  static JsonNode first;
  static JsonNode second;
  static JsonNode isolated;
  static JsonNode othersVm;

  @BeforeAll
  static void vms() throws Exception {
    owner = live.user("invm-owner");
    other = live.user("invm-other");
    first = json(owner.run("new", "--name=sdk-first", "--auto-suspend-timeout=0", "--json"));
    second = json(owner.run("new", "--name=sdk-second", "--auto-suspend-timeout=0", "--json"));
    isolated = json(owner.run("new", "--name=sdk-isolated", "--isolated", "--auto-suspend-timeout=0", "--json"));
    othersVm = json(other.run("new", "--name=sdk-others", "--auto-suspend-timeout=0", "--json"));
    Path dir = Files.createTempDirectory("boxd-invm-stubs-");
    try {
      Path stubs = pythonStubs(dir);
      for (String vm : List.of("sdk-first", "sdk-isolated")) {
        copyClient(vm, stubs);
      }
    } finally {
      try (var files = Files.walk(dir)) {
        for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(file);
        }
      }
    }
  }

  @AfterAll
  static void destroy() throws Exception {
    if (owner != null) {
      for (String vm : List.of("sdk-first", "sdk-second", "sdk-isolated")) {
        owner.run("destroy", "-y", vm);
      }
    }
    if (other != null) {
      other.run("destroy", "-y", "sdk-others");
    }
  }

  /**
   * The stubs an SDK user makes with stock grpc_tools. Debian 12's (the host's, like the guest's)
   * bundles protoc 3.5, which predates proto3 {@code optional}: the copy it compiles has that label
   * dropped from the few fields carrying it (all in requests this client does not send), which
   * changes no field's number or encoding.
   */
  static Path pythonStubs(Path dir) throws Exception {
    Path source = dir.resolve("in/boxd/api/v1/boxd.proto");
    Files.createDirectories(source.getParent());
    String proto = Files.readString(TestPaths.repositoryRoot().resolve("proto/src/main/proto/boxd/api/v1/boxd.proto"));
    Files.writeString(source, Pattern.compile("^(\\s*)optional ", Pattern.MULTILINE).matcher(proto).replaceAll("$1"));
    Path out = Files.createDirectories(dir.resolve("out"));
    Process protoc = new ProcessBuilder("/usr/bin/python3", "-m", "grpc_tools.protoc", "-I", dir.resolve("in").toString(),
        "--python_out=" + out, "--grpc_python_out=" + out, "boxd/api/v1/boxd.proto").redirectErrorStream(true).start();
    String said = new String(protoc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(protoc.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(protoc.exitValue()).as("grpc_tools.protoc (python3-grpc-tools): %s", said).isZero();
    return out.resolve("boxd/api/v1");
  }

  static void copyClient(String vm, Path stubs) throws Exception {
    LiveServer.exec(owner, vm, "mkdir -p sdk/boxd/api/v1");
    for (String file : List.of("boxd_pb2.py", "boxd_pb2_grpc.py")) {
      copy(vm, Files.readAllBytes(stubs.resolve(file)), "sdk/boxd/api/v1/" + file);
    }
    try (InputStream script = InVmApiTest.class.getResourceAsStream("/invm/in_vm_api.py")) {
      copy(vm, script.readAllBytes(), "in_vm_api.py");
    }
  }

  static void copy(String vm, byte[] content, String path) throws Exception {
    SshUser.Run run = owner.run(content, "cp", "-", vm + ":" + path);
    assertThat(run.exit()).as("cp - %s:%s: %s", vm, path, run.err()).isZero();
  }

  static JsonNode client(String vm, String... args) throws Exception {
    return LiveServer.JSON.readTree(LiveServer.exec(owner, vm, "python3 in_vm_api.py " + String.join(" ", args)));
  }

  static String gateway() {
    return Ipv4Subnet.parse(live.server().subnet).gateway().toString();
  }

  @Test
  void aVmsSdkIsItsOwnerWithNoKeyAndSeesOnlyItsOwnersVms() throws Exception {
    JsonNode answers = client("sdk-first", "--other", othersVm.path("vm_id").asText(), "--destroy-self");
    assertThat(answers.path("target").asText()).isEqualTo(gateway() + ":9003");

    assertThat(answers.path("whoami").path("ok").path("user_id").asText()).as("%s", answers)
        .isEqualTo(json(owner.run("whoami", "--json")).path("user_id").asText());
    List<String> names = new ArrayList<>();
    answers.path("list").path("ok").path("vms").forEach(vm -> names.add(vm.path("name").asText()));
    assertThat(names).as("%s", answers).containsExactlyInAnyOrder("sdk-first", "sdk-second", "sdk-isolated");
    assertThat(answers.path("self").path("ok").path("vm_id").asText()).as("GetVm without a VM: the caller's own")
        .isEqualTo(first.path("vm_id").asText());

    assertThat(answers.path("other").path("code").asText()).as("another user's VM, by id: %s", answers).isEqualTo("NOT_FOUND");
    assertThat(answers.path("destroy_self").path("code").asText()).as("%s", answers).isEqualTo("FAILED_PRECONDITION");
    assertThat(answers.path("destroy_self").path("details").asText()).contains("cannot destroy itself");
    assertThat(json(other.run("info", "sdk-others", "--json")).path("status").asText()).isEqualTo("running");
    assertThat(json(owner.run("info", "sdk-second", "--json")).path("status").asText()).isEqualTo("running");
  }

  @Test
  void anIsolatedVmIsRefusedWithTheReason() throws Exception {
    JsonNode answers = client("sdk-isolated");
    for (String call : List.of("whoami", "list", "self")) {
      assertThat(answers.path(call).path("code").asText()).as("%s: %s", call, answers).isEqualTo("PERMISSION_DENIED");
      assertThat(answers.path(call).path("details").asText()).isEqualTo(StateGuestCallers.ISOLATED);
    }
  }

  @Test
  void thePortListensInsideTheVmNetworkAndOnNoAddressOfTheHost() throws Exception {
    String inside = run("ip", "netns", "exec", live.server().namespace(), "ss", "-ltnH");
    // The socket is dual-stack, as the gateway's: ss shows the address v4-mapped.
    assertThat(inside).as("listeners in the VM network namespace").containsPattern("[ \\[](::ffff:)?" + Pattern.quote(gateway()) + "\\]?:9003 ");
    assertThat(run("ss", "-ltnH", "sport", "=", ":9003")).as("listeners on port 9003 of the host").isBlank();
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress address : Collections.list(nic.getInetAddresses())) {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress(address, 9003), 2000);
          throw new AssertionError("port 9003 of the host's " + address + " (" + nic.getName() + ") answered");
        } catch (IOException expected) {
          // refused (or unreachable): nothing of boxd's there
        }
      }
    }
  }

  static String run(String... argv) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as("%s: %s", String.join(" ", argv), output).isZero();
    return output;
  }
}
