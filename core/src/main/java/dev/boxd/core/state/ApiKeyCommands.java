package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.Command.CreateApiKey;
import dev.boxd.core.state.Command.RevokeApiKey;
import dev.boxd.core.state.Command.SetTokenSigningKey;
import java.util.ArrayList;
import java.util.List;

/** API keys and the token signing key (SPEC §7, §12). */
final class ApiKeyCommands {
  private ApiKeyCommands() {}

  static Applied create(ClusterState s, CreateApiKey c) {
    if (s.user(c.userId()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, UserCommands.noUser(c.userId()));
    }
    if (!Names.isValid(c.name())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid API key name " + quote(c.name())
          + ": expected 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");
    }
    if (!ApiKey.isSha256Hex(c.secretSha256())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "an API key's secret hash must be 64 lower-case hex digits (SHA-256)");
    }
    if (c.expiresAt().isPresent() && !c.expiresAt().get().isAfter(c.at())) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "an API key must expire after it is made: expiry " + c.expiresAt().get()
          + " is not after " + c.at());
    }
    if (s.apiKey(c.keyId()).isPresent() || s.apiKeyByHash(c.secretSha256()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "an API key with id " + quote(c.keyId()) + " or its secret exists already");
    }
    List<ApiKey> mine = s.apiKeysOf(c.userId());
    if (mine.stream().anyMatch(k -> k.name().equals(c.name()) && k.usableAt(c.at()))) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "you have an API key named " + quote(c.name())
          + " already: choose another name, or revoke it first (api-key revoke " + c.name() + ")");
    }
    // Revoked and expired keys stay listed until they are needed as room, oldest first.
    ApiAccess access = s.apiAccess();
    List<ApiKey> spent = new ArrayList<>(mine.stream().filter(k -> !k.usableAt(c.at())).toList());
    int held = mine.size();
    while (held >= ApiKey.MAX_PER_USER && !spent.isEmpty()) {
      access = access.without(spent.removeFirst().id());
      held--;
    }
    if (held >= ApiKey.MAX_PER_USER) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, "API key limit reached: you have " + ApiKey.MAX_PER_USER
          + " usable API keys, the most an account may hold; revoke one first (api-key revoke ID)");
    }
    ApiKey key = new ApiKey(c.keyId(), c.userId(), c.name(), c.secretSha256(), c.at(), c.expiresAt(), java.util.Optional.empty());
    return ok(s.withApiAccess(access.with(key)));
  }

  static Applied revoke(ClusterState s, RevokeApiKey c) {
    ApiKey key = s.apiKey(c.keyId()).filter(k -> k.userId().equals(c.userId())).orElse(null);
    if (key == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no API key " + quote(c.keyId()) + " (see: api-key list)");
    }
    if (key.isRevoked()) {
      return reject(s, ErrorCode.FAILED_PRECONDITION, "API key " + quote(key.name()) + " (" + key.id() + ") was revoked already, at "
          + key.revokedAt().get());
    }
    return ok(s.withApiAccess(s.apiAccess().with(key.revoked(c.at()))));
  }

  static Applied setSigningKey(ClusterState s, SetTokenSigningKey c) {
    if (s.tokenSigningKey().isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "the cluster's token signing key is set already (id "
          + s.tokenSigningKey().get().id() + "): it is made once");
    }
    if (c.key().secret().length != TokenSigningKey.SECRET_BYTES || c.key().id().isEmpty()) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "a token signing key needs an id and " + TokenSigningKey.SECRET_BYTES
          + " bytes of secret, got " + c.key().secret().length);
    }
    return ok(s.withApiAccess(s.apiAccess().withSigningKey(c.key())));
  }
}
