package dev.boxd.cli;

import dev.boxd.verbs.Operations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * Keeps {@code ~/.ssh/config}'s block and the {@code known_hosts} pins (SPEC §12) in step with the
 * account's VMs, so {@code ssh NAME.<zone>}, scp, sftp and {@code rsync -e ssh} work with
 * {@code StrictHostKeyChecking=yes}. Each file is rewritten whole and moved into place, keeping its
 * mode; nothing outside the CLI's own block and pins changes.
 */
final class SshFiles {
  private final Path sshDir;

  SshFiles(Path home) {
    this.sshDir = home.resolve(".ssh");
  }

  static SshFiles ofUser() {
    return new SshFiles(Path.of(System.getProperty("user.home")));
  }

  Path config() {
    return sshDir.resolve("config");
  }

  Path knownHosts() {
    return sshDir.resolve("known_hosts");
  }

  /** Writes one entry per VM of {@code config}, logging in with {@code identityFile}. */
  void update(Operations.SshConfig config, Path identityFile) throws IOException {
    List<SshConfigBlock.Entry> entries = config.hosts().stream()
        .map(h -> new SshConfigBlock.Entry(h.alias(), h.hostName(), h.port(), h.user(), identityFile.toAbsolutePath().toString()))
        .toList();
    List<KnownHostsPins.Endpoint> endpoints = config.hosts().stream().map(h -> new KnownHostsPins.Endpoint(h.hostName(), h.port())).toList();
    rewrite(knownHosts(), KnownHostsPins.apply(read(knownHosts()), config.hostKey(), endpoints));
    rewrite(config(), SshConfigBlock.apply(read(config()), entries));
  }

  /** Takes the block and the pins out (logout). */
  void clear() throws IOException {
    if (Files.exists(config())) {
      rewrite(config(), SshConfigBlock.apply(read(config()), List.of()));
    }
    if (Files.exists(knownHosts())) {
      rewrite(knownHosts(), KnownHostsPins.apply(read(knownHosts()), "", List.of()));
    }
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file) : "";
  }

  private void rewrite(Path link, String text) throws IOException {
    if (Files.exists(link) && Files.readString(link).equals(text)) {
      return;
    }
    if (!Files.isDirectory(sshDir)) {
      Files.createDirectories(sshDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    // A config kept elsewhere and linked here (dotfiles) is written where it is, and stays linked.
    Path file = Files.isSymbolicLink(link) && Files.exists(link) ? link.toRealPath() : link;
    Set<PosixFilePermission> mode = Files.exists(file) ? Files.getPosixFilePermissions(file) : PosixFilePermissions.fromString("rw-------");
    Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp", PosixFilePermissions.asFileAttribute(mode));
    try {
      Files.writeString(tmp, text);
      Files.setPosixFilePermissions(tmp, mode); // the umask may have narrowed it
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
