package dev.boxd.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locations tests share. Images and goldens are expensive (a debootstrap, a boot), so tests use
 * the same cache as {@code ./boxd image build} (the default data directory, or
 * {@code $BOXD_TEST_CACHE}); everything per-test goes to temporary directories.
 */
public final class TestPaths {
  private TestPaths() {}

  /** The repository root: the nearest ancestor of the working directory holding the guest recipe. */
  public static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isRegularFile(dir.resolve("guest/image/build-image.sh"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("not inside the boxd repository: no guest/image/build-image.sh above " + Path.of("").toAbsolutePath());
  }

  /** The guest recipe: the tree's own, or {@code $BOXD_TEST_RECIPE} to test against another. */
  public static Path recipeDir() {
    String env = System.getenv("BOXD_TEST_RECIPE");
    return env != null && !env.isBlank() ? Path.of(env) : repositoryRoot().resolve("guest");
  }

  /**
   * The image recipe ({@code guest/image/recipes/NAME}) tests boot unless they name one:
   * {@code $BOXD_TEST_IMAGE_RECIPE}, else the default image users get.
   */
  public static String imageRecipe() {
    String env = System.getenv("BOXD_TEST_IMAGE_RECIPE");
    return env != null && !env.isBlank() ? env : "full";
  }

  public static Path cacheDir() {
    String env = System.getenv("BOXD_TEST_CACHE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    String data = System.getenv("BOXD_DATA");
    if (data != null && !data.isBlank()) {
      return Path.of(data);
    }
    return Path.of(System.getProperty("user.home"), ".local", "share", "boxd");
  }
}
