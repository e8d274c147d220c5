package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.api.v1.DirEntry;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ListDir's command run for real (sh and GNU find on this host, as the guest has them) with the
 * environment exec would give it, and its output parsed: names with spaces and newlines, types,
 * sizes, modes and times; a missing path, a file, and a path that looks like an option.
 */
class DirListingTest {
  @TempDir
  Path dir;
  private InProcessApi api;

  @AfterEach
  void close() throws Exception {
    if (api != null) {
      api.close();
    }
  }

  /** Exec as the guest does it: {@code sh -c COMMAND} with the spec's environment added. */
  private static int runLocally(dev.boxd.verbs.Operations.ExecSpec spec, OutputStream out, OutputStream err) throws IOException {
    var builder = new ProcessBuilder("sh", "-c", spec.command());
    builder.environment().putAll(spec.env());
    Process process = builder.start();
    process.getOutputStream().close();
    Thread errors = Thread.ofVirtual().start(() -> {
      try {
        process.getErrorStream().transferTo(err);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    process.getInputStream().transferTo(out);
    try {
      errors.join();
      return process.waitFor();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted");
    }
  }

  private FakeOperations ops;

  private dev.boxd.api.v1.BoxdApiGrpc.BoxdApiBlockingStub stub() throws Exception {
    ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> runLocally(spec, out, err)).build();
    api = new InProcessApi(ops);
    return api.blocking();
  }

  @Test
  void listsEveryKindOfEntryWithItsSizeModeAndTime() throws Exception {
    Files.writeString(dir.resolve("notes.txt"), "hello world");
    Files.setPosixFilePermissions(dir.resolve("notes.txt"), PosixFilePermissions.fromString("rw-r-----"));
    Files.setLastModifiedTime(dir.resolve("notes.txt"), FileTime.from(Instant.parse("2026-03-04T05:06:07Z")));
    Files.writeString(dir.resolve("a name with spaces\nand a newline"), "12345");
    Files.createDirectory(dir.resolve("sub"));
    Files.createSymbolicLink(dir.resolve("link"), dir.resolve("sub"));
    Files.writeString(dir.resolve("sub/hidden-below"), "not listed: one level only");

    var listing = stub().listDir(ListDirRequest.newBuilder().setVmId("app").setPath(dir.toString()).build());

    assertThat(listing.getEntriesList()).extracting(DirEntry::getName)
        .containsExactly("a name with spaces\nand a newline", "link", "notes.txt", "sub");
    DirEntry notes = listing.getEntries(2);
    assertThat(notes.getType()).isEqualTo("file");
    assertThat(notes.getSize()).isEqualTo(11);
    assertThat(notes.getMode()).isEqualTo(0640);
    assertThat(notes.getModifiedAt()).isEqualTo("2026-03-04T05:06:07Z");
    assertThat(listing.getEntries(0).getSize()).isEqualTo(5);
    assertThat(listing.getEntries(1).getType()).isEqualTo("link");
    assertThat(listing.getEntries(3).getType()).isEqualTo("dir");
    // The path reached the command only through its environment.
    assertThat(ops.lastExec.command()).isEqualTo(DirListing.COMMAND).doesNotContain(dir.toString());
    assertThat(ops.lastExec.env()).containsEntry(DirListing.PATH_VARIABLE, dir.toString());
  }

  @Test
  void aLinkToADirectoryListsTheDirectory() throws Exception {
    Files.createDirectory(dir.resolve("real"));
    Files.writeString(dir.resolve("real/inside"), "x");
    Files.createSymbolicLink(dir.resolve("alias"), dir.resolve("real"));
    var listing = stub().listDir(ListDirRequest.newBuilder().setVmId("app").setPath(dir.resolve("alias").toString()).build());
    assertThat(listing.getEntriesList()).extracting(DirEntry::getName).containsExactly("inside");
  }

  @Test
  void anEmptyDirectoryHasNoEntries() throws Exception {
    assertThat(stub().listDir(ListDirRequest.newBuilder().setVmId("app").setPath(dir.toString()).build()).getEntriesList()).isEmpty();
  }

  @Test
  void aMissingPathIsNotFoundAndAFileIsNoDirectory() throws Exception {
    var stub = stub();
    Path missing = dir.resolve("nope");
    var notFound = catchThrowableOfType(StatusRuntimeException.class,
        () -> stub.listDir(ListDirRequest.newBuilder().setVmId("app").setPath(missing.toString()).build()));
    assertThat(notFound.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(notFound.getStatus().getDescription()).isEqualTo("no such file or directory in VM app: " + missing);

    Files.writeString(dir.resolve("file"), "x");
    var notADir = catchThrowableOfType(StatusRuntimeException.class,
        () -> stub.listDir(ListDirRequest.newBuilder().setVmId("app").setPath(dir.resolve("file").toString()).build()));
    assertThat(notADir.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(notADir.getStatus().getDescription()).startsWith("not a directory in VM app: " + dir.resolve("file"));
  }

  @Test
  void relativePathsAreUnderTheHomeAndNeverTakenForOptions() {
    assertThat(DirListing.absolute("")).isEqualTo("/home/boxd");
    assertThat(DirListing.absolute("src")).isEqualTo("/home/boxd/src");
    assertThat(DirListing.absolute("-delete")).isEqualTo("/home/boxd/-delete");
    assertThat(DirListing.absolute("/etc")).isEqualTo("/etc");
  }

  @Test
  void parsesRecordsAsFindPrintsThem() {
    byte[] output = ("d 4096 755 1700000000.5000000000 b dir\0" + "f 0 4755 1700000001.0 a\0" + "p 0 644 1700000002 fifo\0")
        .getBytes(StandardCharsets.UTF_8);
    List<DirEntry> entries = DirListing.parse(output);
    assertThat(entries).extracting(DirEntry::getName).containsExactly("a", "b dir", "fifo");
    assertThat(entries.get(0).getMode()).isEqualTo(04755);
    assertThat(entries.get(1).getModifiedAt()).isEqualTo("2023-11-14T22:13:20Z");
    assertThat(entries.get(2).getType()).isEqualTo("other");
  }
}
