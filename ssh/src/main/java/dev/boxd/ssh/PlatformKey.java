package dev.boxd.ssh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.Iterator;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.security.SecurityUtils;

/**
 * The key the platform logs into VMs with: one ed25519 key pair per data directory, in OpenSSH
 * format (private key file mode 0600, {@code FILE.pub} beside it), made on first use. Every VM's
 * user {@code boxd} authorizes its public key.
 *
 * @param publicKey authorized_keys form: {@code ssh-ed25519 AAAA...}
 */
public record PlatformKey(KeyPair keyPair, String publicKey) {
  private static final String COMMENT = "boxd-platform";

  /** Reads the key pair in {@code file}, generating it first if the file does not exist. */
  public static PlatformKey loadOrCreate(Path file) throws IOException {
    try {
      if (!Files.exists(file)) {
        create(file);
      }
      KeyPair pair;
      try (InputStream in = Files.newInputStream(file)) {
        Iterator<KeyPair> pairs = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.toString()), in, null).iterator();
        if (!pairs.hasNext()) {
          throw new IOException("no key pair in " + file);
        }
        pair = pairs.next();
      }
      return new PlatformKey(pair, PublicKeyEntry.toString(pair.getPublic()));
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot load the platform key " + file + ": " + e.getMessage(), e);
    }
  }

  // Written to a private temporary file and renamed: the key is never readable by others, and a
  // crash never leaves half a key.
  private static void create(Path file) throws IOException, GeneralSecurityException {
    KeyPair pair = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    var privateText = new ByteArrayOutputStream();
    OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, COMMENT, null, privateText);
    Path tmp = Files.createTempFile(dir, ".platform-key-", ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        privateText.writeTo(out);
      }
      Path pub = Path.of(file + ".pub");
      Files.writeString(pub, PublicKeyEntry.toString(pair.getPublic()) + " " + COMMENT + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
