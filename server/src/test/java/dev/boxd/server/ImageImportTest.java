package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageStore;
import dev.boxd.testkit.TestPaths;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.ServerProcess;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code boxd image import} of a real {@code docker save} archive, then {@code new --image}: the
 * archive is written from the Debian 12 root file system of the image the tests boot (no registry
 * is reachable in CI) by {@code docker-save-of-rootfs.sh}: two layer tars made by GNU tar, the
 * second with whiteouts and user boxd removed, a manifest and an image config as Docker writes
 * them. The import gives the root boxd's agent, CLI and user back; a VM of it runs commands as
 * boxd. An unknown image and bad archives fail with what was wrong and leave nothing behind.
 */
class ImageImportTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer().withPrivateImages();
  static final String NAME = "deb-import";
  static SshUser alice;
  static Path work;
  static ServerProcess.HostRun imported;
  static long importMillis;

  @BeforeAll
  static void importADockerSaveArchive() throws Exception {
    alice = live.user("alice");
    work = Files.createTempDirectory("boxd-import-test-");
    GuestImage base = new ImageStore(TestPaths.cacheDir().resolve("images"), TestPaths.recipeDir(), TestPaths.imageRecipe()).current()
        .orElseThrow(() -> new AssertionError("the test image is not built: ./boxd image build"));
    Path script = TestPaths.repositoryRoot().resolve("server/src/test/resources/docker-save-of-rootfs.sh");
    Path archive = work.resolve("debian-save.tar");
    Process save = new ProcessBuilder("bash", script.toString(), base.rootfs().toString(), archive.toString())
        .redirectErrorStream(true).start();
    String saveOut = new String(save.getInputStream().readAllBytes());
    assertThat(save.waitFor()).as("docker-save-of-rootfs.sh: %s", saveOut).isZero();
    long t0 = System.nanoTime();
    imported = live.server().boxd("image", "import", archive.toString(), "--name=" + NAME);
    importMillis = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("image import of " + (Files.size(archive) >> 20) + " MiB took " + importMillis + " ms");
  }

  @AfterAll
  static void removeWork() throws Exception {
    if (work != null) {
      try (Stream<Path> walk = Files.walk(work)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void aVmOfTheImportedImageRunsCommandsAsBoxdOnItsDebian() throws Exception {
    assertThat(imported.exit()).as(imported.output()).isZero();
    assertThat(imported.output()).contains("docker save archive, 2 layers").contains("image " + NAME + " = ");
    ServerProcess.HostRun list = live.server().boxd("image", "list");
    assertThat(list.output().lines().filter(l -> l.startsWith(NAME + " "))).singleElement()
        .satisfies(row -> assertThat(row).contains("import"));

    JsonNode vm = json(alice.run("new", "--name=imp", "--image=" + NAME, "--json"));
    assertThat(vm.path("image").asText()).isEqualTo(NAME);
    assertThat(vm.path("status").asText()).isEqualTo("running");

    assertThat(LiveServer.exec(alice, "imp", "id -un")).isEqualTo("boxd");
    assertThat(LiveServer.exec(alice, "imp", "cat /etc/os-release")).contains("Debian GNU/Linux 12 (bookworm)");
    assertThat(LiveServer.exec(alice, "imp", "cat /etc/boxd-import-test/marker")).as("layer 2 was applied")
        .isEqualTo("imported from a docker save archive");
    assertThat(LiveServer.exec(alice, "imp", "sudo -n id -un")).as("boxd has sudo").isEqualTo("root");
    assertThat(alice.run("list").out()).containsPattern("imp\\s+running\\s+\\S+\\s+" + NAME);
    assertThat(alice.run("info", "imp").out()).contains(NAME);

    JsonNode fork = json(alice.run("fork", "imp", "--json"));
    assertThat(fork.path("image").asText()).as("a fork keeps its source's image").isEqualTo(NAME);
    assertThat(LiveServer.exec(alice, "imp-fork", "cat /etc/boxd-import-test/marker")).isEqualTo("imported from a docker save archive");
    json(alice.run("destroy", "imp-fork", "--json"));
    json(alice.run("destroy", "imp", "--json"));
  }

  @Test
  void anUnknownImageIsRefusedAndNothingIsMade() throws Exception {
    SshUser.Run run = alice.run("new", "--name=ghost", "--image=no-such-image");

    assertThat(run.exit()).isNotZero();
    assertThat(run.err()).contains("no image named \"no-such-image\"").contains("boxd image import FILE --name=no-such-image");
    assertThat(alice.run("list").out()).doesNotContain("ghost");
  }

  @Test
  void aBadArchiveIsRefusedWithWhatIsWrongAndLeavesNothing() throws Exception {
    Path archive = work.resolve("debian-save.tar");
    Path cut = work.resolve("cut.tar");
    byte[] head = new byte[3 * 1024 * 1024];
    try (var in = Files.newInputStream(archive)) {
      head = Arrays.copyOf(head, in.readNBytes(head, 0, head.length));
    }
    Files.write(cut, head);
    Path text = Files.writeString(work.resolve("notes.tar"), "not an archive\n".repeat(100));

    ServerProcess.HostRun truncated = live.server().boxd("image", "import", cut.toString(), "--name=cut");
    ServerProcess.HostRun notTar = live.server().boxd("image", "import", text.toString(), "--name=notes");

    assertThat(truncated.exit()).isNotZero();
    assertThat(truncated.output()).contains("cut.tar is truncated");
    assertThat(notTar.exit()).isNotZero();
    assertThat(notTar.output()).contains("notes.tar is not a tar archive");
    Path images = live.server().dataDir.resolve("images");
    try (Stream<Path> left = Files.list(images)) {
      assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".import-"));
    }
    assertThat(Files.exists(images.resolve("names/cut"))).isFalse();
    assertThat(Files.exists(images.resolve("names/notes"))).isFalse();
  }
}
