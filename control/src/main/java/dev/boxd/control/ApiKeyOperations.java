package dev.boxd.control;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.verbs.Operations.ApiKeyView;
import dev.boxd.verbs.Operations.NewApiKey;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * An account's API keys: the secret is drawn here and only its hash goes to the log, so it is
 * shown to the caller once and stored nowhere.
 */
final class ApiKeyOperations {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  /** 43 base62 characters carry 256 bits (43 × log2 62 = 256.03). */
  private static final int SECRET_CHARS = 43;
  private static final int ID_CHARS = 16;

  private final AccountScope scope;

  ApiKeyOperations(AccountScope scope) {
    this.scope = scope;
  }

  NewApiKey create(Optional<String> requestedName, Optional<Duration> expiresIn) {
    if (scope.callerVmId().isPresent()) {
      // A VM acts for its owner only while it runs there; a key would carry that power out of it for good.
      throw new BoxdException(dev.boxd.core.ErrorCode.PERMISSION_DENIED,
          "API keys are made over SSH (ssh <zone> api-key create), not from inside a VM");
    }
    requestedName.ifPresent(name -> Names.requireValid("API key name", name));
    Instant now = scope.clock().instant();
    String name = requestedName.orElseGet(() -> freshName(now));
    String secret = ApiKey.SECRET_PREFIX + base62(SECRET_CHARS);
    String id = ApiKey.ID_PREFIX + base62(ID_CHARS);
    scope.store().propose(new Command.CreateApiKey(id, scope.userId(), name, ApiKey.hashOf(secret), now, expiresIn.map(now::plus)))
        .orThrow();
    ApiKey made = scope.store().read().apiKey(id)
        .orElseThrow(() -> BoxdException.notFound("API key " + id + " was made and is gone already"));
    return new NewApiKey(view(made), secret);
  }

  List<ApiKeyView> list() {
    return scope.store().read().apiKeysOf(scope.userId()).stream().map(ApiKeyOperations::view).toList();
  }

  /** By id; else the usable key of that name; else the newest key of that name (revoking it again says it was). */
  ApiKeyView revoke(String idOrName) {
    ClusterState state = scope.store().read();
    Instant now = scope.clock().instant();
    List<ApiKey> mine = state.apiKeysOf(scope.userId());
    ApiKey key = mine.stream().filter(k -> k.id().equals(idOrName)).findFirst()
        .or(() -> mine.stream().filter(k -> k.name().equals(idOrName) && k.usableAt(now)).findFirst())
        .or(() -> mine.stream().filter(k -> k.name().equals(idOrName)).max(Comparator.comparing(ApiKey::createdAt)))
        .orElseThrow(() -> BoxdException.notFound("no API key with id or name " + Names.quote(idOrName) + " (see: api-key list)"));
    long index = scope.store().propose(new Command.RevokeApiKey(key.id(), scope.userId(), now)).orThrow().index();
    return scope.store().readAtLeast(index, Duration.ofSeconds(10)).apiKey(key.id()).map(ApiKeyOperations::view)
        .orElseThrow(() -> BoxdException.notFound("API key " + key.id() + " is gone"));
  }

  private String freshName(Instant now) {
    List<ApiKey> mine = scope.store().read().apiKeysOf(scope.userId());
    for (int n = mine.size() + 1; ; n++) {
      String candidate = "key-" + n;
      if (mine.stream().noneMatch(k -> k.name().equals(candidate) && k.usableAt(now))) {
        return candidate;
      }
    }
  }

  private static String base62(int length) {
    var out = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      out.append(BASE62.charAt(RANDOM.nextInt(BASE62.length()))); // nextInt(bound) is uniform: no modulo bias
    }
    return out.toString();
  }

  private static ApiKeyView view(ApiKey key) {
    return new ApiKeyView(key.id(), key.name(), key.createdAt().toString(), key.expiresAt().map(Instant::toString),
        key.revokedAt().map(Instant::toString));
  }
}
