package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The device's own SSH key ({@code ~/.config/boxd/id_ed25519}), made by OpenSSH's ssh-keygen at
 * every login: the key the ssh-config block logs in with, linked to the account by the login.
 */
final class DeviceKey {
  private DeviceKey() {}

  static Path make(Path dir) throws IOException {
    AuthCommand.ensurePrivateDir(dir);
    Path key = dir.resolve("id_ed25519");
    Files.deleteIfExists(key);
    Files.deleteIfExists(key.resolveSibling("id_ed25519.pub"));
    Process p;
    try {
      p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "boxd-cli@" + deviceName(), "-f", key.toString())
          .redirectErrorStream(true).start();
    } catch (IOException e) {
      throw BoxdException.precondition("ssh-keygen is needed to make this device's SSH key: install OpenSSH's client (apt install openssh-client)");
    }
    try {
      String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      if (p.waitFor() != 0) {
        throw BoxdException.precondition("ssh-keygen could not make " + key + ": " + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while making the device key", e);
    }
    return key;
  }

  /** This machine's name as a DNS label, for the key's comment and the API key's name. */
  static String deviceName() {
    String name;
    try {
      name = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      name = "cli";
    }
    String label = name.toLowerCase(Locale.ROOT).replaceAll("\\..*$", "").replaceAll("[^a-z0-9-]", "-").replaceAll("^-+|-+$", "");
    if (label.length() > 40) {
      label = label.substring(0, 40).replaceAll("-+$", "");
    }
    return label.isEmpty() ? "cli" : label;
  }
}
