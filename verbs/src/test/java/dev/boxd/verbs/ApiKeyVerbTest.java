package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.testing.FakeOperations;
import org.junit.jupiter.api.Test;

class ApiKeyVerbTest {
  private static final int INVALID = ErrorCode.INVALID_ARGUMENT.exitCode();
  private final FakeOperations ops = FakeOperations.builder().build();

  @Test
  void createShowsTheSecretOnceWithItsIdNameAndExpiry() {
    var made = Run.of(ops, "api-key", "create", "ci", "--expires-in-secs", "3600", "--json");
    assertThat(made.exit).as(made.toString()).isZero();
    var doc = made.json();
    assertThat(doc.get("id").asText()).isEqualTo("key_0000000000000001");
    assertThat(doc.get("name").asText()).isEqualTo("ci");
    assertThat(doc.get("api_key").asText()).startsWith("bxd_").hasSize(47);
    assertThat(doc.get("expires_at").asText()).isEqualTo("2026-01-01T01:00:00Z");
    assertThat(doc.get("revoked").asBoolean()).isFalse();
    assertThat(ops.calls).contains("createApiKey ci 3600");

    var text = Run.of(ops, "api-key", "create");
    assertThat(text.exit).isZero();
    assertThat(text.out).contains("bxd_").contains("only time it is shown").contains("no expiry").contains("key_0000000000000002");
    assertThat(ops.calls).contains("createApiKey - -");
  }

  @Test
  void listShowsNeitherSecretNorHashAndRevokeTakesAnIdOrAName() {
    Run.of(ops, "api-key", "create", "ci");
    Run.of(ops, "api-key", "create", "laptop", "--expires-in-secs=60");
    var list = Run.of(ops, "api-key", "list", "--json");
    assertThat(list.exit).isZero();
    assertThat(list.out).doesNotContain("bxd_").doesNotContain("hash");
    assertThat(list.json()).hasSize(2);
    assertThat(list.json().get(0).get("expires_at").isNull()).isTrue();
    assertThat(list.json().get(1).get("expires_at").asText()).isEqualTo("2026-01-01T00:01:00Z");

    var byName = Run.of(ops, "api-key", "revoke", "ci", "--json");
    assertThat(byName.json().get("revoked").asBoolean()).isTrue();
    assertThat(byName.json().get("revoked_at").asText()).isEqualTo("2026-01-01T00:00:01Z");
    assertThat(Run.of(ops, "api-key", "revoke", "key_0000000000000002").out).contains("revoked API key laptop");
    assertThat(Run.of(ops, "api-key", "ls").out).contains("ID").contains("REVOKED").contains("2026-01-01T00:00:01Z");
    var missing = Run.of(ops, "api-key", "revoke", "nope", "--json");
    assertThat(missing.exit).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
    assertThat(missing.json().get("error").get("code").asText()).isEqualTo("NOT_FOUND");
  }

  @Test
  void badNamesExpiriesActionsAndReferencesAreRefusedBeforeAnythingIsMade() {
    assertError(Run.of(ops, "api-key", "create", "Bad_Name"), "invalid API key name \"Bad_Name\"");
    assertError(Run.of(ops, "api-key", "create", "ci", "--expires-in-secs=0"), "invalid --expires-in-secs \"0\"");
    assertError(Run.of(ops, "api-key", "create", "ci", "--expires-in-secs=soon"), "expected whole seconds");
    assertError(Run.of(ops, "api-key", "create", "ci", "--expires-in-secs=999999999999"), "invalid --expires-in-secs");
    assertError(Run.of(ops, "api-key", "list", "--expires-in-secs=5"), "goes with api-key create only");
    assertError(Run.of(ops, "api-key", "list", "extra"), "unexpected argument \"extra\"");
    assertError(Run.of(ops, "api-key", "rotate"), "unknown api-key action \"rotate\": expected create, list or revoke");
    assertError(Run.of(ops, "api-key", "revoke"), "missing ID|NAME");
    assertError(Run.of(ops, "api-key", "revoke", "key_$$"), "invalid API key \"key_$$\"");
    assertError(Run.of(ops, "api-key"), "missing ACTION");
    assertThat(ops.calls).isEmpty();
  }

  @Test
  void helpListsTheVerb() {
    assertThat(Run.of(ops, "help").out).contains("api-key");
    assertThat(Run.of(ops, "help", "api-key").out).contains("--expires-in-secs=N").contains("shown this once");
  }

  private static void assertError(Run run, String message) {
    assertThat(run.exit).as(run.toString()).isEqualTo(INVALID);
    assertThat(run.err).contains(message);
  }
}
