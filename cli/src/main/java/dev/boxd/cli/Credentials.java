package dev.boxd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxd.core.BoxdException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * The stored login, {@code ~/.config/boxd/credentials.json} (mode 0600, SPEC §12): the API URL, the
 * device's API key and its id, the account, the CA to trust (single-node servers use their own),
 * and the device's SSH key. Written whole to a temporary file and moved into place, so a crash
 * never leaves half a file.
 */
record Credentials(String apiUrl, String apiKey, String apiKeyId, String userId, Optional<Path> caCert, Optional<Path> identityFile) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code ~/.config/boxd} (or {@code $XDG_CONFIG_HOME/boxd}). */
  static Path directory() {
    String xdg = System.getenv("XDG_CONFIG_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
    return base.resolve("boxd");
  }

  static Path file() {
    return directory().resolve("credentials.json");
  }

  static Optional<Credentials> load() {
    Path file = file();
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonNode json = JSON.readTree(file.toFile());
      return Optional.of(new Credentials(text(json, "api_url"), text(json, "api_key"), text(json, "api_key_id"), text(json, "user_id"),
          path(json, "ca_cert"), path(json, "identity_file")));
    } catch (IOException e) {
      throw BoxdException.precondition("cannot read " + file + " (" + e.getMessage() + "): run `boxd auth login` again");
    }
  }

  void store() throws IOException {
    ObjectNode json = JSON.createObjectNode();
    json.put("api_url", apiUrl);
    json.put("api_key", apiKey);
    json.put("api_key_id", apiKeyId);
    json.put("user_id", userId);
    caCert.ifPresent(p -> json.put("ca_cert", p.toString()));
    identityFile.ifPresent(p -> json.put("identity_file", p.toString()));
    writePrivate(file(), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
  }

  static void remove() throws IOException {
    Files.deleteIfExists(file());
  }

  /** Writes {@code text} to {@code file} with mode 0600 (its directory 0700 if made), atomically. */
  static void writePrivate(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(tmp, text);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static String text(JsonNode json, String field) {
    JsonNode value = json.get(field);
    return value == null || value.isNull() ? "" : value.asText();
  }

  private static Optional<Path> path(JsonNode json, String field) {
    String value = text(json, field);
    return value.isEmpty() ? Optional.empty() : Optional.of(Path.of(value));
  }

  @Override
  public String toString() {
    return "Credentials[" + apiUrl + ", key " + apiKeyId + ", user " + userId + "]"; // never the key
  }
}
