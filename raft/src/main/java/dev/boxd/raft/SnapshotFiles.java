package dev.boxd.raft;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.codec.SnapshotCodec;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;

/**
 * Snapshot files in Ratis's state machine directory: {@code snapshot.TERM_INDEX} holds the bytes
 * of {@link SnapshotCodec} (which carry their own format version) and a {@code .md5} beside it.
 * Ratis finds them by name, sends them to followers that fell behind, and deletes old ones.
 */
final class SnapshotFiles {
  private SnapshotFiles() {}

  /** Writes atomically: a crash leaves either the whole new file or none (the old one stays). */
  static SingleFileSnapshotInfo write(SimpleStateMachineStorage storage, TermIndex at, ClusterState state)
      throws IOException {
    File file = storage.getSnapshotFile(at.getTerm(), at.getIndex());
    Path tmp = file.toPath().resolveSibling(file.getName() + ".partial");
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE)) {
      ByteBuffer bytes = ByteBuffer.wrap(SnapshotCodec.encode(state));
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
      out.force(true);
    }
    Files.move(tmp, file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    return new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), at);
  }

  /** Reads a snapshot, checking its digest and that its content is at the index its name says. */
  static ClusterState read(SingleFileSnapshotInfo info) throws IOException {
    Path path = info.getFile().getPath();
    if (info.hasMd5()) {
      MD5FileUtil.verifySavedMD5(path.toFile(), info.getFile().getFileDigest());
    }
    ClusterState state = SnapshotCodec.decode(Files.readAllBytes(path));
    if (state.appliedIndex() != info.getIndex()) {
      throw new IOException("snapshot " + path + " holds the state at index " + state.appliedIndex()
          + ", not at " + info.getIndex() + " as its name says");
    }
    return state;
  }
}
