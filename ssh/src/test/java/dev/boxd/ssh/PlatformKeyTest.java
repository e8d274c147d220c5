package dev.boxd.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlatformKeyTest {

  @Test
  void madeOnceAsAPrivateOpenSshKeyAndReadBackTheSame(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("data/platform_ed25519_key");
    PlatformKey made = PlatformKey.loadOrCreate(file);
    assertThat(made.publicKey()).startsWith("ssh-ed25519 AAAA");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(Files.readString(file)).startsWith("-----BEGIN OPENSSH PRIVATE KEY-----");
    assertThat(Files.readString(Path.of(file + ".pub"))).startsWith(made.publicKey() + " ");
    PlatformKey again = PlatformKey.loadOrCreate(file);
    assertThat(again.publicKey()).isEqualTo(made.publicKey());
    // OpenSSH reads it too: ssh-keygen derives the same public key from the private file.
    Process keygen = new ProcessBuilder("ssh-keygen", "-y", "-f", file.toString()).redirectErrorStream(true).start();
    assertThat(new String(keygen.getInputStream().readAllBytes()).strip()).startsWith(made.publicKey());
    assertThat(keygen.waitFor()).isZero();
  }
}
