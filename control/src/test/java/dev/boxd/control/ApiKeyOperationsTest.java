package dev.boxd.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.MachineShape;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.Command;
import dev.boxd.testkit.state.InMemoryStateStore;
import dev.boxd.verbs.Operations.ApiKeyView;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ApiKeyOperationsTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final Clock CLOCK = Clock.fixed(AT, ZoneOffset.UTC);
  private static final ControlConfig CONFIG = ControlConfig.singleNode(Ipv4Subnet.parse("10.77.0.0/24"), new MachineShape(1, 512));

  private final InMemoryStateStore store = new InMemoryStateStore();
  private final ControlOperations alice;
  private final ControlOperations bob;

  ApiKeyOperationsTest() {
    store.apply(new Command.CreateUser("u1", "alice", AT, 2));
    store.apply(new Command.CreateUser("u2", "bob", AT, 2));
    alice = new ControlOperations("u1", store, id -> { throw new AssertionError("API keys need no worker"); }, CONFIG, CLOCK);
    bob = new ControlOperations("u2", store, id -> { throw new AssertionError("API keys need no worker"); }, CONFIG, CLOCK);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void aNewKeyHasAFreshSecretOfWhichOnlyTheHashIsWritten() {
    var made = alice.createApiKey(Optional.of("ci"), Optional.of(Duration.ofHours(2)));
    assertThat(made.secret()).matches("bxd_[0-9A-Za-z]{43}");
    assertThat(ApiKey.looksLikeSecret(made.secret())).isTrue();
    assertThat(made.key().id()).matches("key_[0-9A-Za-z]{16}");
    assertThat(made.key().expiresAt()).contains("2026-01-01T02:00:00Z");
    var written = store.commands(Command.CreateApiKey.class).getFirst();
    assertThat(written.secretSha256()).isEqualTo(ApiKey.hashOf(made.secret()));
    assertThat(written.toString()).doesNotContain(made.secret()).doesNotContain(written.secretSha256());
    assertThat(store.read().apiKeyByHash(ApiKey.hashOf(made.secret())).orElseThrow().userId()).isEqualTo("u1");

    var other = alice.createApiKey(Optional.empty(), Optional.empty());
    assertThat(other.secret()).isNotEqualTo(made.secret());
    assertThat(other.key().name()).isEqualTo("key-2");
    assertThat(other.key().expiresAt()).isEmpty();
  }

  @Test
  void keysAreListedAndRevokedByTheirOwnerOnly() {
    var ci = alice.createApiKey(Optional.of("ci"), Optional.empty()).key();
    alice.createApiKey(Optional.of("laptop"), Optional.empty());
    assertThat(alice.apiKeys()).extracting(ApiKeyView::name).containsExactlyInAnyOrder("ci", "laptop"); // made at one instant: by id
    assertThat(bob.apiKeys()).isEmpty();

    assertThatThrownBy(() -> bob.revokeApiKey(ci.id())).isInstanceOf(BoxdException.class)
        .hasMessageContaining("no API key with id or name").extracting(e -> ((BoxdException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
    assertThatThrownBy(() -> bob.revokeApiKey("ci")).isInstanceOf(BoxdException.class);

    ApiKeyView revoked = alice.revokeApiKey("ci");
    assertThat(revoked.id()).isEqualTo(ci.id());
    assertThat(revoked.revokedAt()).contains(AT.toString());
    assertThat(store.read().apiKey(ci.id()).orElseThrow().isRevoked()).isTrue();
    assertThatThrownBy(() -> alice.revokeApiKey("ci")).isInstanceOf(BoxdException.class).hasMessageContaining("revoked already");

    // the name is free again once its key is revoked; revoking by name then means the usable one
    var again = alice.createApiKey(Optional.of("ci"), Optional.empty()).key();
    assertThat(alice.revokeApiKey("ci").id()).isEqualTo(again.id());
    String laptop = alice.apiKeys().stream().filter(k -> k.name().equals("laptop")).findFirst().orElseThrow().id();
    assertThat(alice.revokeApiKey(laptop).name()).isEqualTo("laptop");
  }

  @Test
  void noKeyIsMadeFromInsideAVm() {
    store.apply(new Command.RegisterWorker("w1", "10.0.0.1:7000", 8, 16384, AT));
    store.apply(new Command.CreateVm("vm1", "u1", "app", 1, 512, 10, dev.boxd.core.net.Ipv4.parse("10.77.0.5"),
        dev.boxd.core.net.Ipv4.parse("10.77.0.5"), "w1", AT));
    var inside = ControlOperations.insideVm(store.read().vm("vm1").orElseThrow(), store, id -> null, CONFIG, CLOCK);
    assertThatThrownBy(() -> inside.createApiKey(Optional.of("ci"), Optional.empty())).isInstanceOf(BoxdException.class)
        .hasMessageContaining("not from inside a VM");
    assertThat(inside.apiKeys()).isEmpty();
  }

  @Test
  void aNameTakenIsRefused() {
    alice.createApiKey(Optional.of("ci"), Optional.empty());
    assertThatThrownBy(() -> alice.createApiKey(Optional.of("ci"), Optional.empty())).isInstanceOf(BoxdException.class)
        .hasMessageContaining("you have an API key named \"ci\" already");
    assertThat(bob.createApiKey(Optional.of("ci"), Optional.empty()).key().name()).isEqualTo("ci");
  }
}
