package dev.boxd.api.auth;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * That a device holds the private half of the key it asks to link: an OpenSSH signature
 * ({@code ssh-keygen -Y sign -n boxd-device-login}, the SSHSIG format of OpenSSH's PROTOCOL.sshsig)
 * of {@link #message}, made at most {@link #MAX_SKEW} from now. Without it anyone could start a
 * login for someone else's public key (public keys are public) and link it to their own account,
 * so that the key's owner would later work in the attacker's account. Device keys are ssh-ed25519,
 * as {@code boxd auth login} makes them.
 */
public final class DeviceKeyProof {
  public static final String NAMESPACE = "boxd-device-login";
  static final Duration MAX_SKEW = Duration.ofMinutes(5);
  private static final String KEY_TYPE = "ssh-ed25519";
  private static final byte[] MAGIC = "SSHSIG".getBytes(StandardCharsets.US_ASCII);

  private DeviceKeyProof() {}

  /** What the device signs: its public key line and the Unix second it signs at. */
  public static byte[] message(String publicKey, long signedAt) {
    return (publicKey.strip() + "\n" + signedAt + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /** Throws INVALID_ARGUMENT or PERMISSION_DENIED, saying why, unless the signature proves possession of the key. */
  public static void check(String publicKey, String armoredSignature, long signedAt, Instant now) {
    String[] words = publicKey.strip().split("\\s+");
    if (words.length < 2) {
      throw BoxdException.invalid("not an SSH public key: expected \"TYPE BASE64 [COMMENT]\" such as the contents of ~/.ssh/id_ed25519.pub");
    }
    byte[] keyBlob;
    try {
      keyBlob = Base64.getDecoder().decode(words[1]);
    } catch (IllegalArgumentException e) {
      throw BoxdException.invalid("not an SSH public key: the key data is not base64");
    }
    if (armoredSignature.isBlank()) {
      throw BoxdException.invalid("no proof that this device holds the key: sign it as `boxd auth login` does"
          + " (ssh-keygen -Y sign -n " + NAMESPACE + "); an older boxd CLI needs updating");
    }
    Instant signed = Instant.ofEpochSecond(signedAt);
    if (Duration.between(signed, now).abs().compareTo(MAX_SKEW) > 0) {
      throw BoxdException.invalid("the key's signature was made at " + signed + ", more than " + MAX_SKEW.toMinutes()
          + " minutes from the server's clock (" + now + "): check this device's clock and log in again");
    }
    Reader sig = new Reader(unarmor(armoredSignature));
    if (!Arrays.equals(sig.bytes(MAGIC.length), MAGIC) || sig.u32() != 1) {
      throw malformed("not an SSHSIG version 1 signature");
    }
    byte[] signer = sig.string();
    String namespace = sig.text();
    byte[] reserved = sig.string();
    String hash = sig.text();
    byte[] signature = sig.string();
    if (!Arrays.equals(signer, keyBlob)) {
      throw denied("the signature was made by another key than the one to link");
    }
    if (!namespace.equals(NAMESPACE)) {
      throw denied("the signature is for \"" + namespace + "\", not " + NAMESPACE);
    }
    Reader key = new Reader(keyBlob);
    if (!key.text().equals(KEY_TYPE)) {
      throw BoxdException.invalid("device keys are " + KEY_TYPE + " (boxd auth login makes one)");
    }
    byte[] rawKey = key.string();
    Reader sigBlob = new Reader(signature);
    if (!sigBlob.text().equals(KEY_TYPE)) {
      throw malformed("not an " + KEY_TYPE + " signature");
    }
    byte[] rawSignature = sigBlob.string();
    byte[] signedData = signedData(namespace, reserved, hash, digest(hash, message(publicKey, signedAt)));
    if (!verify(rawKey, signedData, rawSignature)) {
      throw denied("the signature does not match the key and the message");
    }
  }

  private static byte[] unarmor(String armored) {
    String body = armored.strip();
    String begin = "-----BEGIN SSH SIGNATURE-----";
    String end = "-----END SSH SIGNATURE-----";
    if (!body.startsWith(begin) || !body.endsWith(end)) {
      throw malformed("expected the armored output of ssh-keygen -Y sign");
    }
    try {
      return Base64.getMimeDecoder().decode(body.substring(begin.length(), body.length() - end.length()));
    } catch (IllegalArgumentException e) {
      throw malformed("its body is not base64");
    }
  }

  private static byte[] digest(String hash, byte[] message) {
    String algorithm = switch (hash) {
      case "sha256" -> "SHA-256";
      case "sha512" -> "SHA-512";
      default -> throw malformed("unknown hash " + hash);
    };
    try {
      return MessageDigest.getInstance(algorithm).digest(message);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(algorithm + " is missing from this JVM", e);
    }
  }

  private static byte[] signedData(String namespace, byte[] reserved, String hash, byte[] messageHash) {
    var out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    writeString(out, namespace.getBytes(StandardCharsets.UTF_8));
    writeString(out, reserved);
    writeString(out, hash.getBytes(StandardCharsets.UTF_8));
    writeString(out, messageHash);
    return out.toByteArray();
  }

  private static void writeString(ByteArrayOutputStream out, byte[] value) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(value.length).array());
    out.writeBytes(value);
  }

  /** RFC 8032 public key bytes (y little-endian, x's parity in the top bit) as the JDK's key. */
  private static boolean verify(byte[] rawKey, byte[] data, byte[] rawSignature) {
    if (rawKey.length != 32 || rawSignature.length != 64) {
      throw malformed("an " + KEY_TYPE + " key is 32 bytes and its signature 64");
    }
    byte[] y = new byte[32];
    for (int i = 0; i < 32; i++) {
      y[i] = rawKey[31 - i];
    }
    boolean xOdd = (y[0] & 0x80) != 0;
    y[0] &= 0x7f;
    try {
      PublicKey key = KeyFactory.getInstance("Ed25519")
          .generatePublic(new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, y))));
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(key);
      verifier.update(data);
      return verifier.verify(rawSignature);
    } catch (GeneralSecurityException e) {
      return false; // a point not on the curve, or a signature the JDK refuses: no proof
    }
  }

  private static BoxdException malformed(String why) {
    return BoxdException.invalid("the key's signature is malformed: " + why);
  }

  private static BoxdException denied(String why) {
    return new BoxdException(ErrorCode.PERMISSION_DENIED, "no proof that this device holds the key: " + why);
  }

  /** SSH wire encoding: big-endian lengths before byte strings. */
  private static final class Reader {
    private final ByteBuffer in;

    Reader(byte[] data) {
      this.in = ByteBuffer.wrap(data);
    }

    byte[] bytes(int n) {
      if (n < 0 || in.remaining() < n) {
        throw malformed("it ends too early");
      }
      byte[] b = new byte[n];
      in.get(b);
      return b;
    }

    int u32() {
      return ByteBuffer.wrap(bytes(4)).getInt();
    }

    byte[] string() {
      return bytes(u32());
    }

    String text() {
      return new String(string(), StandardCharsets.UTF_8);
    }
  }
}
