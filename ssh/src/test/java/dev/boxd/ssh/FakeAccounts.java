package dev.boxd.ssh;

import dev.boxd.verbs.Operations;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** Accounts from a map of fingerprints; registrations are recorded, codes are fixed per key. */
class FakeAccounts implements Accounts {
  final Map<String, String> accountByFingerprint = new ConcurrentHashMap<>();
  final Map<String, String> registrations = new ConcurrentHashMap<>();
  final Map<String, String> sources = new ConcurrentHashMap<>();
  final Operations operations;

  FakeAccounts(Operations operations) {
    this.operations = operations;
  }

  @Override
  public Optional<String> accountOf(String fingerprint) {
    return Optional.ofNullable(accountByFingerprint.get(fingerprint));
  }

  @Override
  public String openRegistration(String fingerprint, String publicKey, String source) {
    registrations.put(fingerprint, publicKey);
    sources.put(fingerprint, source);
    return codeFor(fingerprint);
  }

  static String codeFor(String fingerprint) {
    return "CODE" + Math.abs(fingerprint.hashCode() % 10000);
  }

  @Override
  public Operations operations(String accountId) {
    return operations;
  }
}
