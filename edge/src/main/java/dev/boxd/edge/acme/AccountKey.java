package dev.boxd.edge.acme;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import org.shredzone.acme4j.util.KeyPairUtils;

/**
 * Our key with an ACME server, kept in one file (mode 0600) so that every renewal uses the same
 * account. A node that has none makes one: accounts are cheap, and losing the file loses nothing
 * but the account's history.
 */
public final class AccountKey {
  private AccountKey() {}

  public static KeyPair loadOrCreate(Path file) throws IOException {
    if (Files.isRegularFile(file)) {
      try (var in = Files.newBufferedReader(file)) {
        return KeyPairUtils.readKeyPair(in);
      } catch (IOException | RuntimeException e) {
        throw new IOException("cannot read the ACME account key " + file + ": " + e.getMessage()
            + " (remove it to make a new account)", e);
      }
    }
    KeyPair key = KeyPairUtils.createKeyPair();
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(temporary);
    Files.createFile(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (var out = Files.newBufferedWriter(temporary)) {
      KeyPairUtils.writeKeyPair(key, out);
    }
    Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
    return key;
  }
}
