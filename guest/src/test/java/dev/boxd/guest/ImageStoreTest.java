package dev.boxd.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image cache key per recipe, on a recipe tree of its own: each recipe hashes the shared
 * recipe files, its own directory and its name, never another recipe's directory.
 */
class ImageStoreTest {
  @TempDir
  Path guest;

  @TempDir
  Path images;

  @BeforeEach
  void recipeTree() throws IOException {
    write("image/build-image.sh", "#!/bin/sh\n");
    write("image/files/rootfs/etc/hostname", "boxd\n");
    write("image/recipes/full/packages", "jq\n");
    write("image/recipes/full/configure", "#!/bin/sh\n");
    write("image/recipes/small/packages", "# nothing\n");
    write("agent/main.c", "int main(void) { return 0; }\n");
    write("cli/main.c", "int main(void) { return 0; }\n");
  }

  private void write(String relative, String text) throws IOException {
    Path file = guest.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  private String hash(String recipe) {
    return new ImageStore(images, guest, recipe).recipeHash();
  }

  @Test
  void theDefaultRecipeIsFullAndEveryRecipeHasAHashOfItsOwn() {
    assertThat(new ImageStore(images, guest).recipe()).isEqualTo(ImageStore.DEFAULT_RECIPE).isEqualTo("full");
    assertThat(ImageStore.recipes(guest)).containsExactly("full", "small");
    assertThat(hash("full")).isNotEqualTo(hash("small")).isEqualTo(hash("full"));
  }

  @Test
  void aChangeToOneRecipeLeavesTheOthersImageAlone() throws IOException {
    String full = hash("full");
    String small = hash("small");
    write("image/recipes/full/packages", "jq ripgrep\n");
    write("image/recipes/full/rootfs/etc/nginx/sites-available/boxd", "server {}\n");
    assertThat(hash("full")).isNotEqualTo(full);
    assertThat(hash("small")).isEqualTo(small);
  }

  @Test
  void aChangeToWhatEveryImageSharesChangesEveryHash() throws IOException {
    String full = hash("full");
    String small = hash("small");
    write("image/build-image.sh", "#!/bin/sh\necho changed\n");
    assertThat(hash("full")).isNotEqualTo(full);
    assertThat(hash("small")).isNotEqualTo(small);
  }

  @Test
  void testsOfTheGuestProgramsAreNotPartOfTheRecipe() throws IOException {
    String full = hash("full");
    write("agent/test/agent_test.py", "print('harness')\n");
    assertThat(hash("full")).isEqualTo(full);
  }

  @Test
  void anUnknownRecipeIsRefusedNamingTheOnesThereAre() {
    assertThatThrownBy(() -> new ImageStore(images, guest, "huge"))
        .isInstanceOfSatisfying(BoxdException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .hasMessageContaining("'huge'").hasMessageContaining("[full, small]");
  }

  @Test
  void twoThreadsBuildingAtOnceShareOneBuild() throws Exception {
    // Steps that make a minimal valid image slowly, and count how often the image step ran.
    write("agent/build.sh", "touch \"$1\"\n");
    write("cli/build.sh", "touch \"$1\"\n");
    write("image/build-image.sh", """
        echo run >> "$(dirname "$BOXD_IMAGE_CACHE")/runs"
        sleep 0.5
        printf '\\177ELF' > "$1/vmlinux"
        : > "$1/initrd.img"
        head -c 1080 /dev/zero > "$1/rootfs.img"; printf '\\123\\357' >> "$1/rootfs.img"
        echo '{}' > "$1/manifest.json"
        """);
    var store = new ImageStore(images, guest, "small");
    try (var threads = java.util.concurrent.Executors.newFixedThreadPool(2)) {
      var first = threads.submit(() -> store.build(line -> {}));
      var second = threads.submit(() -> store.build(line -> {}));
      assertThat(first.get().dir()).isEqualTo(second.get().dir());
    }
    assertThat(Files.readAllLines(images.resolve("runs"))).as("image steps run").hasSize(1);
  }

  @Test
  void anImportHashesTheArchiveAndTheFinishingFilesButNoRecipe() throws IOException {
    ImageStore store = new ImageStore(images, guest);
    String a = store.importHash("a".repeat(64));
    write("image/recipes/full/packages", "jq ripgrep\n");
    assertThat(store.importHash("a".repeat(64))).isEqualTo(a).isNotEqualTo(store.importHash("b".repeat(64)));
    write("image/files/rootfs/etc/hostname", "other\n");
    assertThat(store.importHash("a".repeat(64))).isNotEqualTo(a);
  }

  @Test
  void anImageWithoutSystemdIsRefusedBeforeAnythingIsUnpackedAndLeavesNothing() throws IOException {
    // a debian:12 container image: no systemd, no sshd
    Path archive = Files.write(images.resolveSibling(images.getFileName() + "-debian.tar"),
        new dev.boxd.guest.archive.TarWriterAccess().debianWithoutSystemd());
    ImageImport importer = new ImageImport(new ImageStore(images, guest));

    assertThatThrownBy(() -> importer.run(archive, "deb", line -> { }))
        .isInstanceOf(BoxdException.class)
        .hasMessage("the image has no systemd: boxd VMs boot systemd; base it on debian:12 or install systemd"
            + " (with systemd-sysv, openssh-server and sudo)");
    try (var left = Files.list(images)) {
      assertThat(left.map(p -> p.getFileName().toString())).containsOnly(".build.lock");
    }
    assertThat(new ImageStore(images, guest).named("deb")).isEmpty();
  }

  @Test
  void importNamesAreCheckedAndMayNotShadowARecipe() {
    ImageImport importer = new ImageImport(new ImageStore(images, guest));

    assertThatThrownBy(() -> importer.run(images.resolve("x.tar"), "Bad_Name", line -> { })).hasMessageContaining("invalid image name");
    assertThatThrownBy(() -> importer.run(images.resolve("x.tar"), "small", line -> { })).hasMessageContaining("is the name of a recipe");
  }
}
