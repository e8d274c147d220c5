package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Claims on goldens shared by data directories, and RAM files in /dev/shm whose golden is gone. */
class GoldenClaimsTest {
  private static final Path SHM = Path.of("/dev/shm");
  private Path root;
  private final List<Path> made = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createTempDirectory("boxd-golden-claims-");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (Path file : made) {
      Files.deleteIfExists(file);
    }
    dev.boxd.os.Trees.delete(root);
  }

  /** A golden directory with a small RAM file and its owner file, as a build leaves them. */
  private Golden golden(String base, int gen) throws IOException {
    Path dir = Files.createDirectories(root.resolve(base).resolve("gen-" + gen)).toRealPath();
    Golden golden = QemuDriver.goldenAt(dir, null, null);
    Files.writeString(golden.ramFile(), "ram");
    Files.writeString(golden.ownerFile(), dir + "\n");
    Files.writeString(golden.readyMarker(), "ram=" + golden.ramFile() + "\n");
    made.add(golden.ramFile());
    made.add(golden.ownerFile());
    return golden;
  }

  @Test
  void theLastLiveClaimantToReleaseDeletesTheGoldenAndItsRamFile() throws IOException {
    Golden golden = golden("img-1c512m", 1);
    Path alice = Files.createDirectories(root.resolve("alice"));
    Path bob = Files.createDirectories(root.resolve("bob"));
    GoldenClaims.claim(golden, alice);
    GoldenClaims.claim(golden, bob);
    assertThat(GoldenClaims.claimedBy(root, alice)).containsExactly(golden.dir());

    assertThat(GoldenClaims.release(golden.dir(), alice)).as("bob still claims it").isFalse();
    assertThat(golden.dir()).isDirectory();
    assertThat(golden.ramFile()).exists();
    assertThat(GoldenClaims.claimedBy(root, alice)).isEmpty();

    dev.boxd.os.Trees.delete(bob); // bob's data directory is removed: his claim counts for nothing
    assertThat(GoldenClaims.abandoned(root)).as("claimed only by a data directory that is gone").containsExactly(golden.dir());
    GoldenClaims.claim(golden, alice);
    assertThat(GoldenClaims.abandoned(root)).isEmpty();
    assertThat(GoldenClaims.release(golden.dir(), alice)).isTrue();
    assertThat(golden.dir()).doesNotExist();
    assertThat(golden.ramFile()).doesNotExist();
    assertThat(golden.ownerFile()).doesNotExist();
  }

  @Test
  void theNewestGenerationOfAShapeIsKnownFromItsDirectory() throws IOException {
    Golden first = golden("abc123-1c512m-tcg-0011aabb", 1);
    Golden second = golden("abc123-1c512m-tcg-0011aabb", 2);
    assertThat(GoldenClaims.isNewestOf(second.dir(), new MachineShape(1, 512))).isTrue();
    assertThat(GoldenClaims.isNewestOf(first.dir(), new MachineShape(1, 512))).isFalse();
    assertThat(GoldenClaims.isNewestOf(second.dir(), new MachineShape(2, 512))).isFalse();
  }

  @Test
  void atStartRamFilesWhoseGoldenIsGoneAreRemovedAndOthersStay() throws IOException {
    Golden live = golden("img-1c640m", 1);
    Golden gone = golden("img-1c768m", 1);
    dev.boxd.os.Trees.delete(gone.dir());
    Path legacy = SHM.resolve(Golden.RAM_PREFIX + "legacytest" + ProcessHandle.current().pid() + Golden.RAM_SUFFIX);
    Files.writeString(legacy, "ram");
    made.add(legacy);
    // A golden of this root made before owner files: its RAM file gets one and stays.
    Golden old = golden("img-1c896m", 1);
    Files.delete(old.ownerFile());
    // A build that died between its owner file and its RAM file, its directory gone since.
    Golden died = golden("img-1c1024m", 1);
    Files.delete(died.ramFile());
    dev.boxd.os.Trees.delete(died.dir());
    // One being built now: owner file first, directory there, RAM file not yet.
    Golden building = golden("img-1c1152m", 1);
    Files.delete(building.ramFile());

    List<Path> removed = GoldenClaims.removeOrphanRam(SHM, root);

    assertThat(removed).contains(gone.ramFile()).doesNotContain(live.ramFile(), legacy, old.ramFile());
    assertThat(gone.ramFile()).doesNotExist();
    assertThat(gone.ownerFile()).doesNotExist();
    assertThat(live.ramFile()).exists();
    assertThat(legacy).as("no owner can be known: left").exists();
    assertThat(old.ramFile()).exists();
    assertThat(Files.readString(old.ownerFile()).strip()).isEqualTo(old.dir().toString());
    assertThat(died.ownerFile()).as("an owner file whose RAM file and golden are both gone").doesNotExist();
    assertThat(building.ownerFile()).as("a build under way keeps its owner file").exists();
  }
}
