package dev.boxd.worker.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A named snapshot on its worker: {@code snapshots/<id>/} holds the saved VM (memory delta,
 * device state, manifest: see {@link dev.boxd.vmm.SavedSnapshot}) and {@code boxd.json}, what a
 * VM started from it needs besides: the golden it runs on and the chain of frozen disk layers
 * under the snapshot's disk, which are kept as long as the snapshot exists.
 */
record SnapshotFiles(Path dir) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What boxd.json holds; {@code layers} newest first, the first being the snapshot's own disk layer. */
  record Meta(String sourceVmId, String goldenDir, String ramFile, String imageDir, int vcpus, int memoryMib, List<String> layers) {}

  Path meta() {
    return dir.resolve("boxd.json");
  }

  boolean complete() {
    return Files.isRegularFile(meta()) && Files.isRegularFile(dev.boxd.vmm.SavedSnapshot.manifest(dir));
  }

  Meta read() {
    try {
      return JSON.readValue(meta().toFile(), Meta.class);
    } catch (IOException e) {
      throw new UncheckedIOException("unreadable snapshot record " + meta() + ": " + e.getMessage(), e);
    }
  }

  /** Written last, through a rename: a directory without it is an unfinished snapshot. */
  void write(Meta meta) {
    try {
      Path tmp = dir.resolve("boxd.json.tmp");
      JSON.writeValue(tmp.toFile(), meta);
      Files.move(tmp, meta(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + meta() + ": " + e.getMessage(), e);
    }
  }
}
