package dev.boxd.server;

import dev.boxd.core.BoxdException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where boxd keeps things: the data directory and the source tree's guest recipe. */
final class Paths {
  private Paths() {}

  /** {@code --data}, else {@code $BOXD_DATA}, else {@code ~/.local/share/boxd}. */
  static Path dataDir(Path option) {
    if (option != null) {
      return option.toAbsolutePath();
    }
    String env = System.getenv("BOXD_DATA");
    if (env != null && !env.isBlank()) {
      return Path.of(env).toAbsolutePath();
    }
    return Path.of(System.getProperty("user.home"), ".local", "share", "boxd");
  }

  /** The {@code guest} directory of the source tree, which {@code ./boxd} passes as {@code boxd.home}. */
  static Path recipeDir() {
    String home = System.getProperty("boxd.home");
    Path dir = home == null ? null : Path.of(home, "guest");
    if (dir == null || !Files.isRegularFile(dir.resolve("image/build-image.sh"))) {
      throw BoxdException.precondition("cannot find the guest image recipe (guest/image/build-image.sh): run boxd through ./boxd at the repository root");
    }
    return dir;
  }
}
