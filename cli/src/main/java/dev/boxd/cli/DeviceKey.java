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
  /** The signature's namespace and message, as StartDeviceLoginRequest's key_signature (boxd.proto) has them. */
  static final String LOGIN_NAMESPACE = "boxd-device-login";

  private DeviceKey() {}

  static byte[] loginMessage(String publicKey, long signedAt) {
    return (publicKey.strip() + "\n" + signedAt + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

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

  /**
   * An OpenSSH signature of {@code message} by {@code key} in {@code namespace}
   * ({@code ssh-keygen -Y sign}, armored): how the device proves to the server that it holds the key.
   */
  static String sign(Path key, String namespace, byte[] message) throws IOException {
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-Y", "sign", "-f", key.toString(), "-n", namespace)
        .redirectError(ProcessBuilder.Redirect.PIPE).start();
    try (var in = p.getOutputStream()) {
      in.write(message);
    }
    try {
      String signature = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      String errors = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      if (p.waitFor() != 0 || signature.isBlank()) {
        throw BoxdException.precondition("ssh-keygen could not sign with " + key + " (OpenSSH 8.1 or newer is needed): " + errors);
      }
      return signature;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while signing with the device key", e);
    }
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
