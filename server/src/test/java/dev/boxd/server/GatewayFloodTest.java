package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile VM against the server's heap: from inside, many {@code boxd exec} clients push stdin
 * at a command that never reads it. The server holds a bounded amount per connection and frees
 * it, ending the commands, when the clients are killed.
 */
class GatewayFloodTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;

  private static final int CLIENTS = 32;
  private static final int MIB_EACH = 64;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("flood-alice");
  }

  @Test
  void anInputFloodFromAVmStaysBoundedAndIsFreedWhenItsClientsDie() throws Exception {
    json(alice.run("new", "--name=flood-vm", "--json"));
    try {
      long before = usedHeapAfterGc();
      SshUser.Run started = alice.run("exec", "flood-vm", "--", "for i in $(seq " + CLIENTS + "); do"
          + " setsid sh -c 'head -c " + MIB_EACH + "M /dev/zero | boxd exec flood-vm -- sleep 600 & echo $! > /tmp/flood-'$i'.pid; wait'"
          + " >/dev/null 2>&1 </dev/null & done; echo started");
      assertThat(started.out()).as(started.err()).isEqualTo("started\n");
      Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1))
          .until(() -> sleepers() == CLIENTS);
      Thread.sleep(5000); // the floods go on; whatever the server buffers, it has by now
      long flooded = usedHeapAfterGc();
      assertThat(sleepers()).as("the commands still run").isEqualTo(CLIENTS);

      SshUser.Run killed = alice.run("exec", "flood-vm", "--", "kill $(cat /tmp/flood-*.pid)");
      assertThat(killed.exit()).as(killed.err()).isZero();
      // The gateway finds its clients gone although the commands never read: they are ended.
      Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
          .until(() -> sleepers() == 0);
      long after = usedHeapAfterGc();
      System.out.printf("gateway flood from a VM: %d clients x %d MiB of stdin at 'sleep 600'; server heap used %d MiB before,"
          + " %d MiB flooded, %d MiB after the clients were killed%n", CLIENTS, MIB_EACH, before >> 20, flooded >> 20, after >> 20);
      // Each connection may hold ~200 KiB of input; 64 frames of 64 KiB each were 4 MiB before.
      assertThat(flooded - before).isLessThan(CLIENTS * (1L << 20));
      assertThat(after - before).isLessThan(16L << 20);
    } finally {
      alice.run("destroy", "-y", "flood-vm");
    }
  }

  private static long sleepers() throws IOException, InterruptedException {
    SshUser.Run count = alice.run("exec", "flood-vm", "--", "grep -lx sleep /proc/[0-9]*/comm 2>/dev/null | wc -l");
    return Long.parseLong(count.out().trim());
  }

  // The server's used heap after a full collection, as jcmd reports it.
  private static long usedHeapAfterGc() throws IOException, InterruptedException {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    Matcher used = Pattern.compile("heap .*?used (\\d+)K", Pattern.DOTALL).matcher(info);
    assertThat(used.find()).as(info).isTrue();
    return Long.parseLong(used.group(1)) * 1024;
  }

  private static String jcmd(String command) throws IOException, InterruptedException {
    Path java = Path.of(ProcessHandle.current().info().command().orElseThrow());
    Process p = new ProcessBuilder(java.resolveSibling("jcmd").toString(), Long.toString(live.server().pid()), command)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
