package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import dev.boxd.verbs.Operations.ApiKeyView;
import dev.boxd.verbs.Syntax.Flag;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** api-key create|list|revoke: the keys that code exchanges for tokens of the gRPC API (SPEC §7). */
final class ApiKeyVerb {
  static final long MAX_EXPIRES_IN_SECS = Operations.MAX_API_KEY_LIFETIME_SECS;
  private static final Pattern KEY_ID = Pattern.compile("^key_[0-9A-Za-z]{16}$");
  private static final Pattern COUNT = Pattern.compile("^[0-9]{1,12}$");
  private static final String EXPIRES_IN = "expires-in-secs";

  private ApiKeyVerb() {}

  static Verb apiKey() {
    var syntax = new Syntax("api-key", List.of(), "Make, list and revoke API keys for the gRPC API", List.of("ACTION"), List.of("ARG"),
        false, List.of(Flag.value(EXPIRES_IN, "N", "with create: the key expires N seconds from now (default: never)"), Syntax.JSON),
        """
        api-key create [NAME] [--expires-in-secs N]   make a key; its secret (bxd_...) is shown this once only
        api-key list                                  your keys (JSON: an array of {"id","name","created_at","expires_at","revoked","revoked_at"})
        api-key revoke ID|NAME                        revoke a key: new tokens are refused and its tokens stop working at once
        Exchange a key for a token of about an hour: POST https://<zone>/api/v1/auth/token {"api_key":"bxd_..."}.""");
    return new Verb(syntax, ApiKeyVerb::run);
  }

  private static int run(Call call) throws IOException {
    String action = call.args().positionals().getFirst();
    Optional<String> arg = call.args().positional(1);
    if (!action.equals("create") && call.args().has(EXPIRES_IN)) {
      throw BoxdException.invalid("--" + EXPIRES_IN + " goes with api-key create only");
    }
    switch (action) {
      case "create", "new" -> create(call, arg.map(name -> Names.requireValid("API key name", name)));
      case "list", "ls" -> {
        if (arg.isPresent()) {
          throw BoxdException.invalid("unexpected argument " + Names.quote(arg.get()) + ": expected api-key list");
        }
        list(call);
      }
      case "revoke", "rm", "delete" -> {
        String ref = keyRef(arg.orElseThrow(() -> BoxdException.invalid("missing ID|NAME: expected api-key revoke ID|NAME")));
        ApiKeyView revoked = call.ops().revokeApiKey(ref);
        if (call.json()) {
          call.printJson(json(revoked));
        } else {
          call.print("revoked API key " + Text.safe(revoked.name()) + " (" + revoked.id() + "): its tokens no longer work\n");
        }
      }
      default -> throw BoxdException.invalid("unknown api-key action " + Names.quote(action) + ": expected create, list or revoke");
    }
    return 0;
  }

  private static void create(Call call, Optional<String> name) throws IOException {
    Optional<Duration> expiresIn = call.args().value(EXPIRES_IN).map(ApiKeyVerb::expiresIn);
    var made = call.ops().createApiKey(name, expiresIn);
    ApiKeyView key = made.key();
    if (call.json()) {
      Map<String, Object> doc = json(key);
      doc.put("api_key", made.secret());
      doc.put("note", "the api_key is shown only this once: store it now");
      call.printJson(doc);
    } else {
      call.print("API key " + Text.safe(key.name()) + " (" + key.id() + "), " + key.expiresAt().map(t -> "expires " + t).orElse("no expiry")
          + ":\n\n  " + made.secret() + "\n\n"
          + "This is the only time it is shown: store it now (revoke it with api-key revoke " + key.id() + ").\n"
          + "Exchange it for a token: POST https://<zone>/api/v1/auth/token with {\"api_key\":\"...\"}.\n");
    }
  }

  private static void list(Call call) throws IOException {
    List<ApiKeyView> keys = call.ops().apiKeys();
    if (call.json()) {
      call.printJson(keys.stream().map(ApiKeyVerb::json).toList());
    } else {
      call.print(Text.table(List.of("ID", "NAME", "CREATED", "EXPIRES", "REVOKED"), keys.stream()
          .map(k -> List.of(k.id(), k.name(), k.createdAt(), k.expiresAt().orElse("never"), k.revokedAt().orElse("no"))).toList()));
    }
  }

  /** The key's id ({@code key_} and 16 base62 characters) or its name (a DNS label). */
  static String keyRef(String value) {
    if (KEY_ID.matcher(value).matches() || Names.isValid(value)) {
      return value;
    }
    throw BoxdException.invalid("invalid API key " + Names.quote(value) + ": expected its id (key_ and 16 letters or digits, see: api-key"
        + " list) or its name");
  }

  static Duration expiresIn(String value) {
    if (!COUNT.matcher(value).matches() || Long.parseLong(value) < 1 || Long.parseLong(value) > MAX_EXPIRES_IN_SECS) {
      throw BoxdException.invalid("invalid --" + EXPIRES_IN + " " + Names.quote(value) + ": expected whole seconds from 1 to "
          + MAX_EXPIRES_IN_SECS + " (leave it out for a key that does not expire)");
    }
    return Duration.ofSeconds(Long.parseLong(value));
  }

  private static Map<String, Object> json(ApiKeyView key) {
    return Json.object("id", key.id(), "name", key.name(), "created_at", key.createdAt(), "expires_at", key.expiresAt().orElse(null),
        "revoked", key.revokedAt().isPresent(), "revoked_at", key.revokedAt().orElse(null));
  }
}
