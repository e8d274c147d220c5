package dev.boxd.raft;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.codec.CorruptDataException;
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

  /**
   * Reads a snapshot, checking it against its {@code .md5} and that its content is at the index
   * its name says. A damaged snapshot is an error naming the file: a replica must not start from
   * a state it cannot trust.
   */
  static ClusterState read(SingleFileSnapshotInfo info) throws IOException {
    Path path = info.getFile().getPath();
    byte[] bytes = Files.readAllBytes(path);
    MD5Hash stored = info.getFile().getFileDigest();
    if (stored != null) {
      MD5Hash computed = MD5Hash.newInstance(MD5FileUtil.newMD5().digest(bytes));
      if (!stored.equals(computed)) {
        throw new IOException("snapshot " + path + " is damaged: its MD5 is " + computed + ", its .md5 file says " + stored);
      }
    }
    ClusterState state;
    try {
      state = SnapshotCodec.decode(bytes);
    } catch (CorruptDataException e) {
      throw new IOException("snapshot " + path + " does not decode: " + e.getMessage(), e);
    }
    if (state.appliedIndex() != info.getIndex()) {
      throw new IOException("snapshot " + path + " holds the state at index " + state.appliedIndex()
          + ", not at " + info.getIndex() + " as its name says");
    }
    return state;
  }
}
