package dev.boxd.cli;

import dev.boxd.core.BoxdException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The options every command takes, wherever they stand: existing clients put {@code --api-url} and
 * {@code --org} after the subcommand's arguments (SPEC §12), so they are taken out of the words
 * before the verb sees them. Words after {@code --} belong to the VM's command and are left alone.
 */
record GlobalOptions(Optional<String> apiUrl, Optional<String> org, Optional<String> token, Optional<String> caCert, List<String> rest) {
  private static final List<String> NAMES = List.of("--api-url", "--org", "--token", "--ca-cert");

  static GlobalOptions parse(List<String> argv) {
    String apiUrl = null;
    String org = null;
    String token = null;
    String caCert = null;
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < argv.size(); i++) {
      String word = argv.get(i);
      if (word.equals("--")) {
        rest.addAll(argv.subList(i, argv.size()));
        break;
      }
      String name = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
      if (!NAMES.contains(name)) {
        rest.add(word);
        continue;
      }
      String value;
      if (word.contains("=")) {
        value = word.substring(word.indexOf('=') + 1);
      } else if (i + 1 < argv.size()) {
        value = argv.get(++i);
      } else {
        throw BoxdException.invalid(name + " needs a value: " + name + "=VALUE");
      }
      if (value.isEmpty()) {
        throw BoxdException.invalid(name + " is empty: give it a value (" + name + "=VALUE)");
      }
      switch (name) {
        case "--api-url" -> apiUrl = value;
        case "--org" -> org = value;
        case "--token" -> token = value;
        default -> caCert = value;
      }
    }
    return new GlobalOptions(Optional.ofNullable(apiUrl), Optional.ofNullable(org), Optional.ofNullable(token), Optional.ofNullable(caCert),
        List.copyOf(rest));
  }

  /** These options with a relative {@code --ca-cert} resolved in {@code directory}, the user's working directory. */
  GlobalOptions resolvedIn(Optional<java.nio.file.Path> directory) {
    if (caCert.isEmpty() || directory.isEmpty()) {
      return this;
    }
    return new GlobalOptions(apiUrl, org, token, Optional.of(directory.get().resolve(caCert.get()).toString()), rest);
  }
}
