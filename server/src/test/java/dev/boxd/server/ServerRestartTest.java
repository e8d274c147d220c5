package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kill -9 of the server with VMs running: a new server finds the same VMs, same QEMU processes, usable. */
class ServerRestartTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void vmsAndStateSurviveASigkilledServer(@TempDir Path keys) throws Exception {
    try (ServerProcess server = new ServerProcess().start()) {
      try {
        SshUser alice = new SshUser(keys, "alice", server.sshPort);
        SshUser.addKey(server, alice, "alice");
        assertThat(alice.run("new", "--name=one", "--json").exit()).isZero();
        assertThat(alice.run("new", "--name=two", "--json").exit()).isZero();
        assertThat(alice.run("exec", "one", "--", "echo written-before > note.txt").exit()).isZero();
        List<Long> before = server.qemuPids();
        assertThat(before).hasSize(2);

        server.kill9();
        before.forEach(pid -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).as("QEMU %d outlives the server", pid).contains(true));
        server.start();

        JsonNode list = JSON.readTree(alice.run("list", "--json").out());
        assertThat(list).extracting(vm -> vm.path("name").asText()).containsExactlyInAnyOrder("one", "two");
        assertThat(list).allSatisfy(vm -> assertThat(vm.path("status").asText()).isEqualTo("running"));
        assertThat(server.qemuPids()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(alice.run("exec", "one", "--", "cat note.txt").out()).isEqualTo("written-before\n");
        assertThat(alice.run("exec", "two", "--", "hostname").out()).isEqualTo("two\n");
        assertThat(alice.run("destroy", "-y", "one").exit()).isZero();
        assertThat(alice.run("destroy", "-y", "two").exit()).isZero();
        assertThat(server.qemuPids()).isEmpty();
      } catch (AssertionError | Exception e) {
        System.out.println("=== server log ===\n" + server.log());
        throw e;
      }
    }
  }
}
