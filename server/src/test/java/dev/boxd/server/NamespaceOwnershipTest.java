package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.testkit.server.ServerProcess;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A second server, of another data directory, pointed at a running server's VM namespace. */
class NamespaceOwnershipTest {
  @TempDir
  Path keys;

  @Test
  void aSecondServerOnTheSameNamespaceIsRefusedByNameAndTheFirstGoesOn() throws Exception {
    try (var first = new ServerProcess().withArgs("--warm-pool=0").start();
        var second = new ServerProcess().sharingNamespaceOf(first).withArgs("--warm-pool=0")) {
      assertThatThrownBy(second::start).hasMessageContaining("error: network namespace " + first.namespace()
          + " belongs to the boxd server of " + first.dataDir.resolve("worker").toAbsolutePath().normalize() + " (pid "
          + first.pid() + ", running); give this server a namespace of its own with --netns NAME");
      var user = new SshUser(keys, "alice", first.sshPort);
      SshUser.addKey(first, user, "alice");
      assertThat(user.run("list").exit()).as("the first server still serves").isZero();
    }
  }
}
