package dev.boxd.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python SDK inside a VM with no key, token, URL or any environment: it finds the in-VM API
 * at its gateway, which knows the VM's owner by the VM's address. A script there lists exactly
 * its owner's VMs, none of another user's.
 */
class PythonSdkInVmTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();

  @TempDir
  Path dir;

  @Test
  void insideAVmTheSdkNeedsNoCredentialsAndSeesOnlyItsOwnersVms() throws Exception {
    SshUser owner = live.user("py-invm-a");
    SshUser other = live.user("py-invm-b");
    List<Runnable> cleanup = new ArrayList<>();
    try {
      for (String name : List.of("pyin-a1", "pyin-a2")) {
        create(owner, name, cleanup);
      }
      create(other, "pyin-b1", cleanup);
      PythonSdk.build();
      // the package with its generated code, and the example that lists VMs, as a tar through cp's stdin
      Path bundle = dir.resolve("sdk.tar");
      PythonSdk.Run tar = PythonSdk.run(List.of("tar", "--exclude=__pycache__", "-cf", bundle.toString(), "src/boxd",
          "examples/list_vms.py"), Map.of(), false, 60);
      assertThat(tar.exit()).as("tar of the SDK: %s", tar.output()).isZero();
      SshUser.Run copy = owner.run(Files.readAllBytes(bundle), "cp", "-", "pyin-a1:sdk.tar");
      assertThat(copy.exit()).as("cp of the SDK into the VM: %s", copy.err()).isZero();
      LiveServer.exec(owner, "pyin-a1", "mkdir -p sdk && tar -xf sdk.tar -C sdk");

      String listed = LiveServer.exec(owner, "pyin-a1", "env -i PATH=/usr/bin:/bin python3 sdk/examples/list_vms.py");

      assertThat(LiveServer.JSON.readTree(listed)).as("what the SDK listed inside pyin-a1").isEqualTo(
          LiveServer.JSON.readTree("[\"pyin-a1\",\"pyin-a2\"]"));
    } finally {
      cleanup.forEach(Runnable::run);
    }
  }

  private static void create(SshUser user, String name, List<Runnable> cleanup) throws Exception {
    var made = LiveServer.json(user.run("new", "--name=" + name, "--json"));
    assertThat(made.get("name").asText()).isEqualTo(name);
    cleanup.add(() -> {
      try {
        SshUser.Run gone = user.run("destroy", name, "-y");
        if (gone.exit() != 0) {
          System.err.println("destroying " + name + ": " + gone.err());
        }
      } catch (Exception e) {
        System.err.println("destroying " + name + ": " + e);
      }
    });
  }
}
