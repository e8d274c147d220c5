package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** snapshot save|list|rm: named memory-and-disk snapshots that outlive their VM. */
final class SnapshotVerb {
  private SnapshotVerb() {}

  static Verb snapshot() {
    var syntax = new Syntax("snapshot", List.of(), "Save, list and remove snapshots of VMs", List.of("ACTION"), List.of("ARG", "ARG"),
        false, List.of(Syntax.JSON),
        """
        snapshot save VM NAME   save VM's memory, disk and processes as NAME (VM pauses briefly)
        snapshot list           your snapshots (JSON: an array of {"name","snapshot_id","vm","created_at"})
        snapshot rm NAME        remove one (remove, delete too)
        Snapshots outlive their VM; start VMs from one with new --from-snapshot=NAME, any number of times.""");
    return new Verb(syntax, SnapshotVerb::run);
  }

  private static int run(Call call) throws IOException {
    List<String> words = call.args().positionals();
    String action = words.getFirst();
    switch (action) {
      case "save" -> {
        requireArgs(call, words, 3, "snapshot save VM NAME");
        String vm = Values.vmRef(words.get(1));
        String name = Names.requireValid("snapshot name", words.get(2));
        var saved = call.ops().saveSnapshot(vm, name);
        if (call.json()) {
          var doc = json(saved);
          doc.put("size_bytes", saved.sizeBytes());
          call.printJson(doc);
        } else {
          call.print("saved " + Text.safe(saved.vm()) + " as snapshot " + Text.safe(saved.name()) + " (" + (saved.sizeBytes() >> 20)
              + " MiB)\n");
        }
      }
      case "list", "ls" -> {
        requireArgs(call, words, 1, "snapshot list");
        var all = call.ops().snapshots();
        if (call.json()) {
          call.printJson(all.stream().map(SnapshotVerb::json).toList());
        } else {
          call.print(Text.table(List.of("NAME", "VM", "CREATED"),
              all.stream().map(s -> List.of(s.name(), s.vm(), s.createdAt())).toList()));
        }
      }
      case "rm", "remove", "delete" -> {
        requireArgs(call, words, 2, "snapshot rm NAME");
        String name = Names.requireValid("snapshot name", words.get(1));
        call.ops().removeSnapshot(name);
        if (call.json()) {
          call.printJson(Json.object("name", name, "removed", true));
        } else {
          call.print("removed snapshot " + name + "\n");
        }
      }
      default -> throw BoxdException.invalid("unknown snapshot action " + Names.quote(action) + ": expected save, list or rm");
    }
    return 0;
  }

  private static void requireArgs(Call call, List<String> words, int count, String usage) {
    if (words.size() != count) {
      throw BoxdException.invalid("expected: " + usage);
    }
  }

  private static Map<String, Object> json(dev.boxd.verbs.Operations.SnapshotView s) {
    var m = new LinkedHashMap<String, Object>();
    m.put("name", s.name());
    m.put("snapshot_id", s.id());
    m.put("vm", s.vm());
    m.put("created_at", s.createdAt());
    return m;
  }
}
