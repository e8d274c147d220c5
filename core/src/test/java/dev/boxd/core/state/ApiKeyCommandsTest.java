package dev.boxd.core.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ApiKeyCommandsTest {
  private static final Instant AT = Instant.parse("2026-03-01T10:00:00Z");

  private ClusterState state = ClusterState.empty();

  private Result apply(Command command) {
    Applied applied = Fsm.apply(state, state.appliedIndex() + 1, command);
    state = applied.state();
    return applied.result();
  }

  private static String hash(int n) {
    return ApiKey.hashOf("bxd_" + n);
  }

  private Command.CreateApiKey create(String id, String name, int secret, Instant at) {
    return new Command.CreateApiKey(id, "u1", name, hash(secret), at, Optional.empty());
  }

  private ClusterState withUser() {
    apply(new Command.CreateUser("u1", "alice", AT, 10));
    apply(new Command.CreateUser("u2", "bob", AT, 10));
    return state;
  }

  @Test
  void aKeyIsMadeFoundByItsHashAndRevokedOnlyByItsOwner() {
    withUser();
    assertThat(apply(create("key_a", "ci", 1, AT)).isOk()).isTrue();
    assertThat(state.apiKeyByHash(hash(1)).orElseThrow().name()).isEqualTo("ci");
    assertThat(state.apiKeysOf("u1")).extracting(ApiKey::id).containsExactly("key_a");

    assertThat(apply(new Command.RevokeApiKey("key_a", "u2", AT))).isEqualTo(
        new Result.Rejected(ErrorCode.NOT_FOUND, "no API key \"key_a\" (see: api-key list)"));
    assertThat(apply(new Command.RevokeApiKey("key_a", "u1", AT.plusSeconds(1))).isOk()).isTrue();
    assertThat(state.apiKey("key_a").orElseThrow().revokedAt()).contains(AT.plusSeconds(1));
    assertThat(state.apiKey("key_a").orElseThrow().usableAt(AT.plusSeconds(2))).isFalse();
    Result again = apply(new Command.RevokeApiKey("key_a", "u1", AT.plusSeconds(3)));
    assertThat(again).isInstanceOf(Result.Rejected.class);
    assertThat(((Result.Rejected) again).code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
  }

  @Test
  void badNamesHashesExpiriesAndUnknownAccountsAreRejected() {
    withUser();
    assertThat(code(apply(create("key_a", "Bad Name", 1, AT)))).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(code(apply(new Command.CreateApiKey("key_a", "u1", "ci", "not-hex", AT, Optional.empty()))))
        .isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(code(apply(new Command.CreateApiKey("key_a", "u1", "ci", hash(1), AT, Optional.of(AT))))).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(code(apply(new Command.CreateApiKey("key_a", "nobody", "ci", hash(1), AT, Optional.empty()))))
        .isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(state.apiKeys()).isEmpty();
  }

  @Test
  void aNameIsHeldByAUsableKeyOnlyAndIdsAndSecretsAreUnique() {
    withUser();
    apply(new Command.CreateApiKey("key_a", "u1", "ci", hash(1), AT, Optional.of(AT.plusSeconds(60))));
    assertThat(code(apply(create("key_b", "ci", 2, AT)))).isEqualTo(ErrorCode.ALREADY_EXISTS);
    assertThat(code(apply(create("key_a", "other", 2, AT)))).isEqualTo(ErrorCode.ALREADY_EXISTS);
    assertThat(code(apply(create("key_b", "other", 1, AT)))).isEqualTo(ErrorCode.ALREADY_EXISTS);
    // once the first has expired, its name is free again
    assertThat(apply(create("key_b", "ci", 2, AT.plusSeconds(60))).isOk()).isTrue();
  }

  @Test
  void anAccountHoldsAtMostAHundredKeysAndSpentOnesMakeRoomOldestFirst() {
    withUser();
    for (int i = 0; i < ApiKey.MAX_PER_USER; i++) {
      assertThat(apply(create("key_" + i, "k" + i, i, AT.plusSeconds(i))).isOk()).isTrue();
    }
    Result full = apply(create("key_x", "x", 1000, AT.plusSeconds(200)));
    assertThat(code(full)).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
    assertThat(((Result.Rejected) full).message()).contains("API key limit reached").contains("revoke one");

    apply(new Command.RevokeApiKey("key_7", "u1", AT.plusSeconds(300)));
    apply(new Command.RevokeApiKey("key_3", "u1", AT.plusSeconds(301)));
    assertThat(apply(create("key_x", "x", 1000, AT.plusSeconds(400))).isOk()).isTrue();
    assertThat(state.apiKey("key_3")).as("the oldest revoked key made room").isEmpty();
    assertThat(state.apiKey("key_7")).isPresent();
    assertThat(state.apiKeysOf("u1")).hasSize(ApiKey.MAX_PER_USER);
    assertThat(state.apiKeyByHash(hash(3))).isEmpty();
  }

  @Test
  void theFirstSigningKeyStays() {
    byte[] first = new byte[32];
    first[0] = 1;
    assertThat(apply(new Command.SetTokenSigningKey(new TokenSigningKey("sk1", first), AT)).isOk()).isTrue();
    assertThat(code(apply(new Command.SetTokenSigningKey(new TokenSigningKey("sk2", new byte[32]), AT)))).isEqualTo(ErrorCode.ALREADY_EXISTS);
    assertThat(state.tokenSigningKey().orElseThrow().id()).isEqualTo("sk1");
    assertThat(state.tokenSigningKey().orElseThrow().secret()).isEqualTo(first);
    assertThat(code(Fsm.apply(ClusterState.empty(), 1, new Command.SetTokenSigningKey(new TokenSigningKey("sk", new byte[16]), AT))
        .result())).isEqualTo(ErrorCode.INVALID_ARGUMENT);
  }

  @Test
  void secretsHaveTheirFormAndTheHashIsSha256() {
    assertThat(ApiKey.looksLikeSecret("bxd_" + "a".repeat(43))).isTrue();
    assertThat(ApiKey.looksLikeSecret("bxd_" + "Z9".repeat(20))).isTrue();
    assertThat(ApiKey.looksLikeSecret("bxd_" + "a".repeat(42))).isFalse();
    assertThat(ApiKey.looksLikeSecret("bxd_" + "a".repeat(42) + "-")).isFalse();
    assertThat(ApiKey.looksLikeSecret("xyz_" + "a".repeat(43))).isFalse();
    assertThat(ApiKey.hashOf("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  private static ErrorCode code(Result result) {
    return result instanceof Result.Rejected r ? r.code() : null;
  }
}
