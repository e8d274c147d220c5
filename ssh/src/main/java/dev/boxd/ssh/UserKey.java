package dev.boxd.ssh;

import java.security.PublicKey;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.digest.BuiltinDigests;

/** The public key a session authenticated with: its SHA256 fingerprint and authorized_keys form. */
record UserKey(String fingerprint, String publicKey) {
  /** Session attribute holding the key of the last signature the server checked. */
  static final AttributeKey<UserKey> ATTRIBUTE = new AttributeKey<>();

  static UserKey of(PublicKey key) {
    return new UserKey(KeyUtils.getFingerPrint(BuiltinDigests.sha256, key), PublicKeyEntry.toString(key));
  }
}
