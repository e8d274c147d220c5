package dev.boxd.core.state;

import java.util.Collection;
import java.util.Collections;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The part of {@link ClusterState} that the API's identity needs: the accounts' API keys (by id,
 * with an index by secret hash rebuilt from them, never stored) and the cluster's token signing
 * key. One immutable value, so that {@link ClusterState} carries it as one field.
 */
final class ApiAccess {
  static final ApiAccess EMPTY = new ApiAccess(CopyOnWrite.empty(), CopyOnWrite.empty(), Optional.empty());

  private final SortedMap<String, ApiKey> keys;
  private final SortedMap<String, String> idsByHash;
  private final Optional<TokenSigningKey> signingKey;

  private ApiAccess(SortedMap<String, ApiKey> keys, SortedMap<String, String> idsByHash, Optional<TokenSigningKey> signingKey) {
    this.keys = keys;
    this.idsByHash = idsByHash;
    this.signingKey = signingKey;
  }

  /** As a snapshot stores them; throws {@link IllegalArgumentException} for two keys with one id or one hash. */
  static ApiAccess restore(Collection<ApiKey> keys, Optional<TokenSigningKey> signingKey) {
    TreeMap<String, ApiKey> byId = new TreeMap<>();
    TreeMap<String, String> byHash = new TreeMap<>();
    for (ApiKey key : keys) {
      if (byId.put(key.id(), key) != null || byHash.put(key.secretSha256(), key.id()) != null) {
        throw new IllegalArgumentException("inconsistent state: two API keys with id or secret of " + key.id());
      }
    }
    return new ApiAccess(Collections.unmodifiableSortedMap(byId), Collections.unmodifiableSortedMap(byHash), signingKey);
  }

  Collection<ApiKey> keys() {
    return keys.values();
  }

  Optional<ApiKey> key(String id) {
    return Optional.ofNullable(keys.get(id));
  }

  Optional<ApiKey> keyByHash(String secretSha256) {
    return Optional.ofNullable(idsByHash.get(secretSha256)).map(keys::get);
  }

  Optional<TokenSigningKey> signingKey() {
    return signingKey;
  }

  /** Adds a key or replaces one of the same id and hash. */
  ApiAccess with(ApiKey key) {
    return new ApiAccess(CopyOnWrite.put(keys, key.id(), key), CopyOnWrite.put(idsByHash, key.secretSha256(), key.id()), signingKey);
  }

  ApiAccess without(String id) {
    ApiKey key = keys.get(id);
    return key == null ? this : new ApiAccess(CopyOnWrite.remove(keys, id), CopyOnWrite.remove(idsByHash, key.secretSha256()), signingKey);
  }

  ApiAccess withSigningKey(TokenSigningKey key) {
    return new ApiAccess(keys, idsByHash, Optional.of(key));
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ApiAccess that && keys.equals(that.keys) && signingKey.equals(that.signingKey);
  }

  @Override
  public int hashCode() {
    return 31 * keys.hashCode() + signingKey.hashCode();
  }
}
