package dev.boxd.sdk;

import java.util.List;

/** Who the calls act as. @param keyFingerprints SHA256 fingerprints of the account's SSH keys */
public record Identity(String userId, String name, List<String> keyFingerprints) {
  public Identity {
    keyFingerprints = List.copyOf(keyFingerprints);
  }
}
