package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** whoami, help, version: about the caller and about boxd. */
final class MetaVerbs {
  static final String VERSION = loadVersion();

  private MetaVerbs() {}

  static Verb whoami() {
    var syntax = new Syntax("whoami", List.of(), "Show your user id and linked SSH keys", List.of(), List.of(), false,
        List.of(Syntax.JSON), "JSON: {\"user_id\",\"name\",\"keys\"}.");
    return new Verb(syntax, call -> {
      var me = call.ops().whoami();
      if (call.json()) {
        call.printJson(Json.object("user_id", me.userId(), "name", me.name(), "keys", me.keyFingerprints()));
      } else {
        var out = new StringBuilder(Text.block(List.of(new String[] {"user", me.userId()}, new String[] {"name", me.name()})));
        out.append("keys:\n");
        me.keyFingerprints().forEach(k -> out.append("  ").append(Text.safe(k)).append('\n'));
        call.print(out.toString());
      }
      return 0;
    });
  }

  static Verb version() {
    var syntax = new Syntax("version", List.of(), "Show the boxd version", List.of(), List.of(), false, List.of(Syntax.JSON), "");
    return new Verb(syntax, call -> {
      if (call.json()) {
        call.printJson(Json.object("version", VERSION));
      } else {
        call.print("boxd " + VERSION + "\n");
      }
      return 0;
    });
  }

  static Verb help() {
    var syntax = new Syntax("help", List.of(), "Show the verbs, or one verb's flags", List.of(), List.of("VERB", "SUB"), false,
        List.of(Syntax.JSON), "SUB: one verb of a noun, as in help machine new.");
    return new Verb(syntax, MetaVerbs::help);
  }

  private static int help(Call call) throws IOException {
    var named = call.args().positional(0);
    if (named.isEmpty()) {
      if (call.json()) {
        call.printJson(Map.of("verbs", Verbs.all().stream().map(v -> describe(v.syntax(), false)).toList()));
      } else {
        call.print(overview());
      }
      return 0;
    }
    Verb verb = Verbs.find(named.get()).orElseThrow(() -> Verbs.unknownVerb(named.get()));
    var sub = call.args().positional(1);
    if (sub.isPresent()) {
      if (!verb.noun()) {
        throw BoxdException.invalid(Names.quote(named.get()) + " has no verbs of its own: expected help " + named.get());
      }
      verb = verb.subVerb(sub.get()).orElseThrow(() -> Verbs.unknownSubVerb(Verbs.find(named.get()).orElseThrow(), sub.get()));
    }
    Syntax syntax = verb.syntax();
    if (call.json()) {
      var document = describe(syntax, true);
      if (verb.noun()) {
        document.put("verbs", verb.subVerbs().stream().map(v -> describe(v.syntax(), false)).toList());
      }
      call.printJson(document);
    } else {
      call.print(syntax.help());
    }
    return 0;
  }

  static String overview() {
    var out = new StringBuilder("""
        boxd: forkable microVMs, driven by verbs.

        Usage: VERB [FLAGS] [ARGS]

        Verbs:
        """);
    int width = Verbs.all().stream().mapToInt(v -> v.syntax().names().length()).max().orElse(0);
    for (Verb v : Verbs.all()) {
      out.append("  ").append(Syntax.pad(v.syntax().names(), width)).append("  ").append(v.syntax().summary()).append('\n');
    }
    out.append("\nFlags take --flag=value or --flag value; every verb but connect takes --json.\n")
        .append("help VERB shows one verb's usage and flags.\n")
        .append("machine VERB is the noun form of the VM verbs (machine new, list, get, exec, remove, ...): help machine.\n");
    return out.toString();
  }

  private static Map<String, Object> describe(Syntax s, boolean withFlags) {
    var m = new LinkedHashMap<String, Object>();
    m.put("name", s.name());
    m.put("aliases", s.aliases());
    m.put("usage", s.usage());
    m.put("summary", s.summary());
    if (withFlags) {
      m.put("flags", s.flags().stream().map(f -> Json.object("name", f.name(), "short", f.shortName(), "value", f.valueName(),
          "repeatable", f.repeatable(), "help", f.help())).toList());
    }
    return m;
  }

  private static String loadVersion() {
    try (InputStream in = MetaVerbs.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return "dev";
      }
      var p = new Properties();
      p.load(in);
      return p.getProperty("version", "dev");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
