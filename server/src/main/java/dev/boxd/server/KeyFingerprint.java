package dev.boxd.server;

import dev.boxd.core.BoxdException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/** SSH public keys in authorized_keys form and their fingerprints as {@code ssh-keygen -l} prints them. */
final class KeyFingerprint {
  private KeyFingerprint() {}

  /** The canonical "TYPE BASE64" form (comment dropped); throws naming the problem if malformed. */
  static String canonical(String authorizedKeyLine) {
    String[] words = authorizedKeyLine == null ? new String[0] : authorizedKeyLine.trim().split("\\s+");
    if (words.length < 2 || !words[0].matches("(ssh-|ecdsa-|sk-)[a-z0-9@.-]+")) {
      throw BoxdException.invalid("not an SSH public key: expected \"TYPE BASE64 [COMMENT]\" such as the contents of ~/.ssh/id_ed25519.pub");
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(words[1]);
    } catch (IllegalArgumentException e) {
      throw BoxdException.invalid("not an SSH public key: the key data is not base64");
    }
    String type = typeIn(blob);
    if (!type.equals(words[0])) {
      throw BoxdException.invalid("not an SSH public key: the line says " + words[0] + " but its key data holds "
          + (type.isEmpty() ? "no key type" : "a " + type + " key") + "; copy the whole line of the .pub file");
    }
    return words[0] + " " + words[1];
  }

  /** The key type the blob starts with (an SSH string: a 4-byte length, then ASCII), empty when there is none. */
  private static String typeIn(byte[] blob) {
    if (blob.length < 4) {
      return "";
    }
    long length = ((blob[0] & 0xffL) << 24) | ((blob[1] & 0xff) << 16) | ((blob[2] & 0xff) << 8) | (blob[3] & 0xff);
    if (length < 1 || length > 64 || length > blob.length - 4) {
      return "";
    }
    String type = new String(blob, 4, (int) length, StandardCharsets.US_ASCII);
    return type.matches("[a-z0-9@.-]+") ? type : "";
  }

  static String of(String authorizedKeyLine) {
    String blob = canonical(authorizedKeyLine).split(" ")[1];
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(Base64.getDecoder().decode(blob.getBytes(StandardCharsets.US_ASCII)));
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
