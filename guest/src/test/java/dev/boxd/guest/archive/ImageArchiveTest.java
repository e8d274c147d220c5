package dev.boxd.guest.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive reader on archives written byte by byte: layers in order with their whiteouts, and
 * every way an archive can be bad (traversal, links leading out, truncation, not a tar, a docker
 * save archive whose manifest lies), each refused before anything is unpacked.
 */
class ImageArchiveTest {
  @TempDir
  Path dir;

  @Test
  void dockerSaveLayersApplyInOrderWithWhiteoutsAndOpaqueDirectories() throws IOException {
    byte[] layer1 = new TarWriter().dir("etc/").file("etc/gone", "1").file("etc/kept", "1").dir("var/").dir("var/cache/")
        .file("var/cache/old", "1").symlink("etc/link", "kept").file("etc/replaced", "1").bytes();
    byte[] layer2 = new TarWriter().file("etc/.wh.gone", "").file("var/cache/.wh..wh..opq", "").file("var/cache/new", "2")
        .file("etc/replaced", "2").bytes();
    Path archive = dockerSave("[{\"Config\":\"c.json\",\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]", layer1, layer2);

    ImageArchive image = ImageArchive.open(archive, dir.resolve("scratch"));
    Path root = Files.createDirectories(dir.resolve("root"));
    image.unpack(root);

    assertThat(image.kind()).isEqualTo(ImageArchive.Kind.DOCKER_SAVE);
    assertThat(root.resolve("etc/gone")).doesNotExist();
    assertThat(root.resolve("etc/kept")).hasContent("1");
    assertThat(root.resolve("etc/replaced")).hasContent("2");
    assertThat(Files.readSymbolicLink(root.resolve("etc/link"))).isEqualTo(Path.of("kept"));
    assertThat(root.resolve("var/cache/old")).doesNotExist();
    assertThat(root.resolve("var/cache/new")).hasContent("2");
    try (var files = Files.walk(root)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".wh."));
    }
    assertThat(image.tree().contains("etc/gone")).isFalse();
    assertThat(image.tree().contains("var/cache/new")).isTrue();
  }

  @Test
  void aGzippedRootFileSystemTarballIsOneLayer() throws IOException {
    Path archive = write("rootfs.tar.gz", gzip(new TarWriter().dir("./").dir("./etc/").file("./etc/os-release", "ID=debian\n").bytes()));

    ImageArchive image = ImageArchive.open(archive, dir.resolve("scratch"));
    Path root = Files.createDirectories(dir.resolve("root"));
    image.unpack(root);

    assertThat(image.kind()).isEqualTo(ImageArchive.Kind.ROOTFS_TAR);
    assertThat(root.resolve("etc/os-release")).hasContent("ID=debian");
  }

  @Test
  void dotDotAndAbsoluteNamesAreRefusedAsTraversal() throws IOException {
    Path dotdot = write("a.tar", new TarWriter().file("etc/../../escaped", "x").bytes());
    Path absolute = write("b.tar", new TarWriter().file("/etc/passwd", "x").bytes());
    Path inManifest = dockerSave("[{\"Layers\":[\"../l1/layer.tar\"]}]", new TarWriter().file("a", "x").bytes());

    assertThatThrownBy(() -> ImageArchive.open(dotdot, dir.resolve("s1"))).isInstanceOf(ArchiveException.class)
        .hasMessageContaining("etc/../../escaped").hasMessageContaining("path traversal");
    assertThatThrownBy(() -> ImageArchive.open(absolute, dir.resolve("s2"))).hasMessageContaining("absolute path (path traversal)");
    assertThatThrownBy(() -> ImageArchive.open(inManifest, dir.resolve("s3"))).hasMessageContaining("'..' component");
    assertThat(dir.resolve("escaped")).doesNotExist();
  }

  @Test
  void anEntryBelowALinkIsRefusedInOneLayerOrAcrossLayers() throws IOException {
    Path oneLayer = write("a.tar", new TarWriter().symlink("etc", "/etc").file("etc/cron.d/evil", "x").bytes());
    Path twoLayers = dockerSave("[{\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
        new TarWriter().dir("var/").symlink("var/run", "/run").bytes(), new TarWriter().file("var/run/evil", "x").bytes());

    assertThatThrownBy(() -> ImageArchive.open(oneLayer, dir.resolve("s1"))).isInstanceOf(ArchiveException.class)
        .hasMessageContaining("etc/cron.d/evil lies below the symbolic link etc").hasMessageContaining("symlink escape");
    assertThatThrownBy(() -> ImageArchive.open(twoLayers, dir.resolve("s2"))).hasMessageContaining("layer l2/layer.tar")
        .hasMessageContaining("below the symbolic link var/run");
  }

  @Test
  void aRelativeLinkClimbingAboveTheRootIsRefusedButAbsoluteAndInnerLinksAreFine() throws IOException {
    Path climbing = write("a.tar", new TarWriter().dir("etc/").symlink("etc/x", "../../../etc/shadow").bytes());
    Path fine = write("b.tar", new TarWriter().dir("etc/").symlink("etc/resolv.conf", "/run/resolv.conf")
        .symlink("lib", "usr/lib").symlink("etc/up", "../usr").bytes());

    assertThatThrownBy(() -> ImageArchive.open(climbing, dir.resolve("s1"))).hasMessageContaining("climbs above the root");
    assertThat(ImageArchive.open(fine, dir.resolve("s2")).tree().typeOf("lib")).contains(TarReader.Type.SYMLINK);
  }

  @Test
  void aHardLinkThroughALinkIsRefused() throws IOException {
    Path archive = write("a.tar", new TarWriter().symlink("host", "/").hardlink("shadow", "host/etc/shadow").bytes());

    assertThatThrownBy(() -> ImageArchive.open(archive, dir.resolve("s"))).hasMessageContaining("below the symbolic link host");
  }

  @Test
  void truncatedArchivesAreRefusedWhereverTheyEnd() throws IOException {
    byte[] whole = new TarWriter().file("etc/a", "x".repeat(2000)).file("etc/b", "y").bytes();
    Path inData = write("a.tar", Arrays.copyOf(whole, 900));
    Path inHeader = write("b.tar", Arrays.copyOf(whole, 100));
    Path noEnd = write("c.tar", new TarWriter().file("etc/a", "x").unterminated());
    byte[] gz = gzip(whole);
    Path gzCut = write("d.tar.gz", Arrays.copyOf(gz, gz.length / 2));

    assertThatThrownBy(() -> ImageArchive.open(inData, dir.resolve("s1"))).hasMessageContaining("a.tar is truncated");
    assertThatThrownBy(() -> ImageArchive.open(inHeader, dir.resolve("s2"))).hasMessageContaining("b.tar is truncated");
    assertThatThrownBy(() -> ImageArchive.open(noEnd, dir.resolve("s3")))
        .hasMessageContaining("c.tar is truncated: it ends after 1 entries without the end-of-archive blocks");
    assertThatThrownBy(() -> ImageArchive.open(gzCut, dir.resolve("s4"))).hasMessageContaining("d.tar.gz is truncated or corrupt");
  }

  @Test
  void aFileThatIsNoTarIsNamedSo() throws IOException {
    Path text = write("image.tar", "this is not an archive\n".repeat(40).getBytes(StandardCharsets.UTF_8));
    Path missing = dir.resolve("nope.tar");

    assertThatThrownBy(() -> ImageArchive.open(text, dir.resolve("s1")))
        .hasMessageContaining("image.tar is not a tar archive (its first block is no tar header)");
    assertThatThrownBy(() -> ImageArchive.open(missing, dir.resolve("s2"))).hasMessageContaining("no such file");
  }

  @Test
  void aDockerSaveManifestMustNameLayersTheArchiveHolds() throws IOException {
    byte[] layer = new TarWriter().file("a", "x").bytes();
    Path missingLayer = dockerSave("[{\"Layers\":[\"l1/layer.tar\",\"l9/layer.tar\"]}]", layer);
    Path notJson = dockerSave("{not json", layer);
    Path noLayers = dockerSave("[{\"Config\":\"c.json\"}]", layer);

    assertThatThrownBy(() -> ImageArchive.open(missingLayer, dir.resolve("s1")))
        .hasMessageContaining("manifest.json names the layer l9/layer.tar, which the archive does not hold");
    assertThatThrownBy(() -> ImageArchive.open(notJson, dir.resolve("s2"))).hasMessageContaining("manifest.json is not JSON");
    assertThatThrownBy(() -> ImageArchive.open(noLayers, dir.resolve("s3"))).hasMessageContaining("manifest.json names no layers");
  }

  @Test
  void aWhiteoutOfADirectoryRemovesItAndNothingOutsideTheRoot() throws IOException {
    Path archive = dockerSave("[{\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
        new TarWriter().dir("opt/").dir("opt/app/").file("opt/app/bin", "x").symlink("opt/outside", "/tmp").bytes(),
        new TarWriter().file("opt/.wh.app", "").file("opt/.wh.outside", "").bytes());
    Path root = Files.createDirectories(dir.resolve("root"));

    ImageArchive.open(archive, dir.resolve("s")).unpack(root);

    assertThat(root.resolve("opt/app")).doesNotExist();
    assertThat(Files.exists(root.resolve("opt/outside"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(Path.of("/tmp")).isDirectory();
  }

  private Path dockerSave(String manifest, byte[]... layers) throws IOException {
    TarWriter outer = new TarWriter().file("manifest.json", manifest).file("c.json", "{}");
    for (int i = 0; i < layers.length; i++) {
      outer.dir("l" + (i + 1) + "/").file("l" + (i + 1) + "/layer.tar", layers[i]);
    }
    return write("save-" + System.nanoTime() + ".tar", outer.bytes());
  }

  private Path write(String name, byte[] bytes) throws IOException {
    return Files.write(dir.resolve(name), bytes);
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }
}
