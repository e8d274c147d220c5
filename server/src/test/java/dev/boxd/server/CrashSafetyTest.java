package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.testkit.TestPaths;
import dev.boxd.testkit.server.ServerProcess;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rounds of kill -9 of the server at a random moment during {@code new}, {@code fork},
 * {@code destroy}, {@code snapshot save} or while idle, each followed by a restart. After every
 * restart: each acknowledged VM exists, with its marker file and the same QEMU process; a VM that
 * was being made is finished with its own identity (or reported failed with a reason); no
 * acknowledged destroy comes back; and nothing is orphaned — no QEMU, tap, VM directory, disk
 * layer or snapshot that the state does not account for. Two tenants: the other tenant's VM must
 * come through every round untouched. The seed is printed; {@code -Dboxd.crash.seed} replays it.
 */
@Timeout(1800)
class CrashSafetyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ROUNDS = Integer.getInteger("boxd.crash.rounds", 12);
  private static final int MAX_LIVE = 4;
  private static final Set<String> LIVE = Set.of("running", "standby");
  private static final Set<String> SETTLED = Set.of("running", "standby", "stopped", "failed", "hibernated");

  /** A VM whose making was acknowledged (or finished by recovery), with what it must still hold. */
  record Known(SshUser owner, String name, String id, String marker) {}

  @TempDir Path keys;

  private final Map<String, Known> known = new LinkedHashMap<>();
  private final Set<String> destroyedIds = new HashSet<>();
  private final Set<String> snapshots = new HashSet<>();
  private int serial;
  /** The RAM files in /dev/shm once the default size's golden is made: no round may add one. */
  private Set<String> shmAtStart;

  @Test
  void killsAtRandomMomentsLoseNothingAndLeakNothing() throws Exception {
    long seed = Long.getLong("boxd.crash.seed", System.nanoTime());
    System.out.printf("crash rounds: %d, seed %d (-Dboxd.crash.seed=%d replays them)%n", ROUNDS, seed, seed);
    Random random = new Random(seed);
    try (ServerProcess server = new ServerProcess().withArgs("--warm-pool", "0").start()) {
      try {
        SshUser alice = new SshUser(keys, "alice", server.sshPort);
        SshUser bob = new SshUser(keys, "bob", server.sshPort);
        SshUser.addKey(server, alice, "alice");
        SshUser.addKey(server, bob, "bob");
        make(server, bob, "bob-keeps");
        make(server, alice, "a-first");
        shmAtStart = shmFiles(server);

        Map<String, Integer> survived = new LinkedHashMap<>();
        for (int round = 1; round <= ROUNDS; round++) {
          String op = chooseOperation(random);
          Map<String, Long> pids = pidsOf(server);
          List<String> target = argumentsFor(op, alice, random);
          long killAfterMs = 50 + random.nextInt(1200);
          CompletableFuture<SshUser.Run> running = CompletableFuture.supplyAsync(() -> runQuietly(alice, target), Thread::startVirtualThread);
          Thread.sleep(killAfterMs); // the fault's moment, chosen at random: nothing to await here
          server.kill9();
          SshUser.Run result = running.join();
          boolean acknowledged = result.exit() == 0;
          System.out.printf("round %d: %s, killed after %d ms, %s%n", round, String.join(" ", target), killAfterMs,
              acknowledged ? "acknowledged" : "not acknowledged (exit " + result.exit() + ")");
          server.start();
          settle(server, alice, bob);
          check(server, alice, bob, op, target, acknowledged, pids);
          survived.merge(op, 1, Integer::sum);
        }
        System.out.println("crash rounds survived, by operation: " + survived);

        for (Known vm : List.copyOf(known.values())) {
          assertThat(vm.owner().run("destroy", "-y", vm.name()).exit()).isZero();
        }
        for (String snapshot : List.copyOf(snapshots)) {
          assertThat(alice.run("snapshot", "rm", snapshot).exit()).isZero();
        }
        assertThat(server.qemuPids()).isEmpty();
        assertThat(server.vmDirectories()).isEmpty();
        assertThat(taps(server)).isEmpty();
      } catch (AssertionError | Exception e) {
        System.out.println("=== server log ===\n" + server.log());
        throw e;
      }
    }
  }

  private String chooseOperation(Random random) {
    long alices = known.values().stream().filter(vm -> vm.name().startsWith("a")).count();
    List<String> ops = new ArrayList<>(List.of("idle", "snapshot"));
    if (known.size() < MAX_LIVE) {
      ops.addAll(List.of("new", "new", "fork", "fork"));
    }
    if (alices > 1) {
      ops.addAll(List.of("destroy", "destroy"));
    }
    return ops.get(random.nextInt(ops.size()));
  }

  private List<String> argumentsFor(String op, SshUser alice, Random random) {
    List<Known> alices = known.values().stream().filter(vm -> vm.owner() == alice).toList();
    Known some = alices.get(random.nextInt(alices.size()));
    String fresh = "a" + (++serial);
    return switch (op) {
      case "new" -> List.of("new", "--name=" + fresh);
      case "fork" -> List.of("fork", some.name(), "--name=" + fresh);
      case "destroy" -> List.of("destroy", "-y", some.name());
      case "snapshot" -> List.of("snapshot", "save", some.name(), "s" + serial);
      default -> List.of("whoami");
    };
  }

  private static SshUser.Run runQuietly(SshUser user, List<String> args) {
    try {
      return user.run(args.toArray(String[]::new));
    } catch (Exception e) {
      return new SshUser.Run(-1, "", e.toString());
    }
  }

  /** Waits until no VM is on its way somewhere (creating, booting, destroying). */
  private static void settle(ServerProcess server, SshUser... users) {
    await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(300)).until(() -> {
      for (SshUser user : users) {
        for (JsonNode vm : list(user)) {
          if (!SETTLED.contains(vm.path("status").asText())) {
            return false;
          }
        }
      }
      return true;
    });
  }

  private void check(ServerProcess server, SshUser alice, SshUser bob, String op, List<String> args, boolean acknowledged,
      Map<String, Long> pidsBefore) throws Exception {
    Map<String, JsonNode> listed = new LinkedHashMap<>();
    for (SshUser user : List.of(alice, bob)) {
      for (JsonNode vm : list(user)) {
        listed.put(vm.path("vm_id").asText(), vm);
      }
    }
    String touched = op.equals("destroy") || op.equals("fork") || op.equals("snapshot") ? args.get(op.equals("destroy") ? 2 : 1) : "";
    for (Known vm : List.copyOf(known.values())) {
      boolean destroyTarget = op.equals("destroy") && vm.name().equals(touched);
      if (destroyTarget && acknowledged) {
        assertThat(listed).as("acknowledged destroy of %s", vm.name()).doesNotContainKey(vm.id());
        known.remove(vm.id());
        destroyedIds.add(vm.id());
        continue;
      }
      if (destroyTarget && !listed.containsKey(vm.id())) {
        known.remove(vm.id()); // its destroy was in the log before the kill and was finished
        destroyedIds.add(vm.id());
        continue;
      }
      assertThat(listed).as("acknowledged VM %s after the restart", vm.name()).containsKey(vm.id());
      assertThat(listed.get(vm.id()).path("status").asText()).as("status of %s", vm.name()).isIn(LIVE);
      assertThat(pidOf(server, vm.id())).as("QEMU of %s is the same process", vm.name()).isEqualTo(Optional.ofNullable(pidsBefore.get(vm.id())));
      assertThat(vm.owner().run("exec", vm.name(), "--", "cat marker").out()).as("marker of %s", vm.name()).isEqualTo(vm.marker() + "\n");
    }
    for (String id : destroyedIds) {
      assertThat(listed).as("a destroyed VM never comes back").doesNotContainKey(id);
    }
    // Anything else listed was being made when the server died: finished with its own identity, or failed with a reason.
    for (JsonNode vm : listed.values()) {
      String id = vm.path("vm_id").asText();
      if (known.containsKey(id)) {
        continue;
      }
      String name = vm.path("name").asText();
      assertThat(op).as("VM %s appeared in a round that made no VM", name).isIn("new", "fork");
      if (vm.path("status").asText().equals("failed")) {
        assertThat(vm.path("detail").asText()).as("a failed VM says why").isNotBlank();
        continue;
      }
      assertThat(vm.path("status").asText()).isIn(LIVE);
      SshUser.Run hostname = alice.run("exec", name, "--", "hostname; ip -4 -o addr show eth0");
      assertThat(hostname.out()).as("VM %s has its own identity", name).startsWith(name + "\n").contains(vm.path("ip").asText() + "/");
      String marker = "marker-of-" + name;
      assertThat(alice.run("exec", name, "--", "echo " + marker + " > marker").exit()).isZero();
      known.put(id, new Known(alice, name, id, marker));
    }
    if (op.equals("new") || op.equals("fork")) {
      String name = args.get(op.equals("new") ? 1 : 2).substring("--name=".length());
      if (acknowledged) {
        assertThat(known.values()).as("acknowledged %s of %s", op, name).anyMatch(vm -> vm.name().equals(name));
      }
    }
    if (op.equals("snapshot") && acknowledged) {
      snapshots.add(args.get(3));
    }
    Set<String> listedSnapshots = new HashSet<>();
    for (JsonNode snapshot : JSON.readTree(alice.run("snapshot", "list", "--json").out())) {
      listedSnapshots.add(snapshot.path("name").asText());
    }
    assertThat(listedSnapshots).as("acknowledged snapshots").containsAll(snapshots);
    snapshots.addAll(listedSnapshots); // one saved just before the kill was recorded: it is the user's now
    checkNothingOrphaned(server, listed.keySet(), listedSnapshots.size());
    assertThat(shmFiles(server)).as("no RAM file in /dev/shm left behind").isSubsetOf(shmAtStart);
  }

  /**
   * The boxd RAM files in /dev/shm that this test's goldens could own: those whose owner file names
   * a golden directory of the cache the server uses, or that have no readable owner. RAM files of
   * other boxd instances on this host (another server, another test run) are not this test's.
   */
  private static Set<String> shmFiles(ServerProcess server) throws Exception {
    Path goldens = TestPaths.cacheDir().resolve("golden").toRealPath();
    Path viaDataDir = server.dataDir.resolve("golden");
    try (Stream<Path> files = Files.list(Path.of("/dev/shm"))) {
      return new HashSet<>(files.filter(f -> f.getFileName().toString().startsWith("boxd-"))
          .filter(f -> ownedHereOrUnknown(f, goldens, viaDataDir))
          .map(f -> f.getFileName().toString()).toList());
    }
  }

  private static boolean ownedHereOrUnknown(Path file, Path goldens, Path viaDataDir) {
    String name = file.getFileName().toString();
    Path owner = file.resolveSibling(name.substring(0, name.lastIndexOf('.')) + ".dir");
    try {
      String dir = Files.readString(owner).strip();
      return dir.startsWith(goldens.toString()) || dir.startsWith(viaDataDir.toString());
    } catch (java.io.IOException e) {
      return true;
    }
  }

  private static void checkNothingOrphaned(ServerProcess server, Set<String> vmIds, int snapshotCount) throws Exception {
    Path worker = server.dataDir.resolve("worker");
    Set<String> referenced = new HashSet<>();
    Set<String> withRecord = new HashSet<>();
    for (Path dir : server.vmDirectories()) {
      Path record = dir.resolve("vm.json");
      if (Files.exists(record)) {
        JsonNode vm = JSON.readTree(record.toFile());
        withRecord.add(vm.path("id").asText());
        referenced.add(vm.path("disk").asText());
        vm.path("layers").forEach(layer -> referenced.add(layer.asText()));
      }
    }
    List<Path> snapshotDirs = list(worker.resolve("snapshots"));
    for (Path snapshot : snapshotDirs) {
      JsonNode meta = JSON.readTree(snapshot.resolve("boxd.json").toFile());
      meta.path("layers").forEach(layer -> referenced.add(layer.asText()));
    }
    assertThat(withRecord).as("VM directories are the VMs of the state").containsExactlyInAnyOrderElementsOf(vmIds);
    assertThat(snapshotDirs).as("snapshot directories are the snapshots of the state").hasSize(snapshotCount);
    try (Stream<Path> files = Files.walk(worker.resolve("vms"))) {
      List<String> layers = files.filter(f -> f.toString().endsWith(".qcow2")).map(Path::toString).toList();
      assertThat(referenced).as("every disk layer is some VM's or snapshot's").containsAll(layers);
    }
    assertThat(server.qemuPids()).as("one QEMU per VM").hasSize(vmIds.size());
    List<String> taps = taps(server);
    assertThat(taps).as("one tap per VM").hasSize(vmIds.size());
    assertThat(setElements(server)).as("nftables map and owner-set elements name only live VMs' taps").allMatch(taps::contains);
  }

  /** The tap names in the VM network's nftables maps and owner sets. */
  private static List<String> setElements(ServerProcess server) throws Exception {
    Process nft = new ProcessBuilder("ip", "netns", "exec", server.namespace(), "nft", "-j", "list", "table", "bridge", "boxd")
        .redirectErrorStream(true).start();
    JsonNode table = JSON.readTree(nft.getInputStream().readAllBytes());
    nft.waitFor();
    List<String> elements = new ArrayList<>();
    for (JsonNode item : table.path("nftables")) {
      JsonNode set = item.has("map") ? item.path("map") : item.path("set");
      for (JsonNode element : set.path("elem")) {
        JsonNode key = element.isArray() ? element.get(0) : element;
        elements.add(key.isTextual() ? key.asText() : key.toString());
      }
    }
    return elements;
  }

  private void make(ServerProcess server, SshUser owner, String name) throws Exception {
    SshUser.Run made = owner.run("new", "--name=" + name, "--json");
    assertThat(made.exit()).as("new %s: %s", name, made.err()).isZero();
    String id = JSON.readTree(made.out()).path("vm_id").asText();
    String marker = "marker-of-" + name;
    assertThat(owner.run("exec", name, "--", "echo " + marker + " > marker").exit()).isZero();
    known.put(id, new Known(owner, name, id, marker));
  }

  private static JsonNode list(SshUser user) throws Exception {
    SshUser.Run listed = user.run("list", "--json");
    assertThat(listed.exit()).as("list: %s", listed.err()).isZero();
    return JSON.readTree(listed.out());
  }

  private Map<String, Long> pidsOf(ServerProcess server) {
    Map<String, Long> pids = new LinkedHashMap<>();
    for (String id : known.keySet()) {
      pidOf(server, id).ifPresent(pid -> pids.put(id, pid));
    }
    return pids;
  }

  // With no warm pool, a VM's directory is vms/<id>, named in its QEMU's command line.
  private static Optional<Long> pidOf(ServerProcess server, String id) {
    String dir = server.dataDir.resolve("worker").resolve("vms").resolve(id) + "/";
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains("qemu-system") && c.contains(dir)).orElse(false))
        .map(ProcessHandle::pid).findFirst();
  }

  private static List<String> taps(ServerProcess server) throws Exception {
    Process ip = new ProcessBuilder("ip", "-n", server.namespace(), "-br", "link").redirectErrorStream(true).start();
    String out = new String(ip.getInputStream().readAllBytes());
    ip.waitFor();
    return out.lines().map(l -> l.split("[\\s@]+")[0]).filter(name -> name.startsWith("bx")).toList();
  }

  private static List<Path> list(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.toList();
    }
  }
}
