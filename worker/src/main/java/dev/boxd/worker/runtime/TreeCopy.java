package dev.boxd.worker.runtime;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.os.Trees;
import dev.boxd.verbs.ShellWords;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.time.Duration;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Directory trees travel as tar streams through an exec of {@code tar} in the guest, so the guest
 * side needs nothing but the tar every image has; modes are kept, owners become the guest user.
 */
final class TreeCopy {
  // The download command's exit code when the source is missing (sysexits' EX_NOINPUT; tar uses 1 and 2).
  private static final int NO_SUCH_DIR = 66;

  private TreeCopy() {}

  /** Unpacks {@code localDir} into {@code remoteDir} in the guest, creating it; as user boxd. */
  static void upload(AgentClient agent, Path localDir, String remoteDir) {
    var stderr = new ByteArrayOutputStream();
    String dir = ShellWords.quote(remoteDir);
    try (ExecSession tar = agent.exec(ExecRequest.of("mkdir -p -- " + dir + " && tar -x --no-same-owner -C " + dir + " -f -"),
        OutputStream.nullOutputStream(), stderr)) {
      try (OutputStream in = tar.stdin()) {
        writeTar(localDir, in);
      }
      if (tar.awaitExit(Duration.ofDays(1)) != 0) {
        throw BoxdException.invalid("copy into " + remoteDir + " failed: " + stderr.toString().strip());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Packs {@code remoteDir} in the guest into {@code localDir}; creates nothing if the source is missing. */
  static void download(AgentClient agent, String remoteDir, Path localDir) {
    var stderr = new ByteArrayOutputStream();
    boolean existed = Files.exists(localDir);
    try (PipedInputStream tarIn = new PipedInputStream(1 << 20); PipedOutputStream tarOut = new PipedOutputStream(tarIn)) {
      String dir = ShellWords.quote(remoteDir);
      ExecSession tar = agent.exec(ExecRequest.of("[ -e " + dir + " ] || { echo \"no such file or directory: \"" + dir + " >&2; exit "
          + NO_SUCH_DIR + "; }; tar -c -C " + dir + " -f - ."), tarOut, stderr);
      tar.stdin().close();
      tar.exitCode().whenComplete((code, error) -> {
        try {
          tarOut.close();
        } catch (IOException ignored) {
          // reader is gone
        }
      });
      readTar(tarIn, localDir);
      int exit = tar.awaitExit(Duration.ofDays(1));
      if (exit != 0) {
        if (!existed) {
          Trees.delete(localDir);
        }
        String why = stderr.toString().strip();
        throw new BoxdException(exit == NO_SUCH_DIR ? ErrorCode.NOT_FOUND : ErrorCode.INVALID_ARGUMENT,
            "copy from " + remoteDir + " failed: " + why);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void writeTar(Path root, OutputStream out) throws IOException {
    try (var tar = new TarArchiveOutputStream(out); Stream<Path> walk = Files.walk(root)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Path p : walk.sorted().toList()) {
        String name = root.relativize(p).toString();
        if (name.isEmpty()) {
          continue;
        }
        if (Files.isSymbolicLink(p)) {
          var entry = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
          entry.setLinkName(Files.readSymbolicLink(p).toString());
          tar.putArchiveEntry(entry);
          tar.closeArchiveEntry();
          continue;
        }
        var entry = new TarArchiveEntry(p.toFile(), name);
        entry.setMode(mode(p) | (Files.isDirectory(p) ? 0040000 : 0100000));
        tar.putArchiveEntry(entry);
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          try (InputStream in = Files.newInputStream(p)) {
            in.transferTo(tar);
          }
        }
        tar.closeArchiveEntry();
      }
      tar.finish();
    }
  }

  /** Unpacks under {@code root}, creating it only when the first entry arrives. */
  static void readTar(InputStream in, Path root) throws IOException {
    Path normalizedRoot = root.toAbsolutePath().normalize();
    try (var tar = new TarArchiveInputStream(in)) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        Path target = normalizedRoot.resolve(entry.getName()).normalize();
        if (!target.startsWith(normalizedRoot)) {
          throw new IOException("refusing tar entry outside the target directory: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target);
        } else if (entry.isSymbolicLink()) {
          Files.createDirectories(target.getParent());
          Files.deleteIfExists(target);
          Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
          continue;
        } else if (entry.isFile()) {
          Files.createDirectories(target.getParent());
          try (OutputStream out = Files.newOutputStream(target)) {
            tar.transferTo(out);
          }
        } else {
          continue;
        }
        Files.setPosixFilePermissions(target, permissions(entry.getMode()));
      }
    }
  }

  private static int mode(Path p) {
    try {
      int mode = 0;
      for (PosixFilePermission perm : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
        mode |= 1 << (8 - perm.ordinal());
      }
      return mode;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    var set = java.util.EnumSet.noneOf(PosixFilePermission.class);
    for (PosixFilePermission perm : PosixFilePermission.values()) {
      if ((mode & (1 << (8 - perm.ordinal()))) != 0) {
        set.add(perm);
      }
    }
    return set;
  }
}
