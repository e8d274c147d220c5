package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.testkit.server.ServerProcess;
import dev.boxd.testkit.server.SshUser;
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
        Dig.Answer dns = new Dig(server.dnsPort).ask("one.localhost", "A");
        assertThat(dns.answer()).as("the restarted dns role answers from the recovered state: %s", dns.output())
            .singleElement().satisfies(a -> assertThat(a.data()).startsWith("127.77."));
        assertThat(alice.run("destroy", "-y", "one").exit()).isZero();
        assertThat(alice.run("destroy", "-y", "two").exit()).isZero();
        assertThat(server.qemuPids()).isEmpty();
      } catch (AssertionError | Exception e) {
        System.out.println("=== server log ===\n" + server.log());
        throw e;
      }
    }
  }

  /**
   * A server whose log lost a VM (here: the log deleted, as a restore from an old backup would)
   * keeps the VM it finds running, reports it, and removes it only at the operator's word.
   */
  @Test
  void aVmTheLogDoesNotKnowIsKeptAndReportedNotDestroyed(@TempDir Path keys) throws Exception {
    try (ServerProcess server = new ServerProcess().withArgs("--warm-pool", "0").start()) {
      try {
        SshUser alice = new SshUser(keys, "alice", server.sshPort);
        SshUser.addKey(server, alice, "alice");
        String id = JSON.readTree(alice.run("new", "--name=kept", "--json").out()).path("vm_id").asText();
        List<Long> before = server.qemuPids();
        assertThat(before).hasSize(1);

        server.kill9();
        deleteTree(server.dataDir.resolve("raft"));
        server.start();
        SshUser.addKey(server, alice, "alice");

        assertThat(JSON.readTree(alice.run("list", "--json").out())).isEmpty();
        assertThat(server.qemuPids()).as("the VM runs on, untouched").isEqualTo(before);
        assertThat(server.admin("unclaimed")).contains("1 unclaimed: " + id + " (kept, running, QEMU pid " + before.get(0) + ")");
        assertThat(server.admin("remove-unclaimed", "nosuchvm")).contains("no unclaimed VM \"nosuchvm\"");
        assertThat(server.admin("remove-unclaimed", id)).contains("VM " + id + " removed");
        assertThat(server.qemuPids()).isEmpty();
        assertThat(server.vmDirectories()).isEmpty();
        assertThat(server.admin("unclaimed")).contains("no unclaimed VMs");
      } catch (AssertionError | Exception e) {
        System.out.println("=== server log ===\n" + server.log());
        throw e;
      }
    }
  }

  private static void deleteTree(Path dir) throws java.io.IOException {
    try (var walk = java.nio.file.Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        java.nio.file.Files.delete(p);
      }
    }
  }
}
