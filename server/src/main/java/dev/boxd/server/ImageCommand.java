package dev.boxd.server;

import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageStore;
import dev.boxd.os.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "image", description = "Build and list guest images.", subcommands = {ImageCommand.Build.class, ImageCommand.ListImages.class})
final class ImageCommand {

  static ImageStore store(Path data, String recipe) {
    return new ImageStore(Paths.dataDir(data).resolve("images"), Paths.recipeDir(), recipe);
  }

  @Command(name = "build", description = "Build the guest image of the current recipe (cached by content hash).")
  static final class Build implements Callable<Integer> {
    @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
    Path data;

    @Option(names = "--recipe", defaultValue = ImageStore.DEFAULT_RECIPE,
        description = "guest/image/recipes/NAME: full (default: the toolchain, Docker, nginx) or small (the base alone, for tests)")
    String recipe;

    @Override
    public Integer call() {
      GuestImage image = store(data, recipe).build(System.out::println);
      System.out.println(image.dir());
      return 0;
    }
  }

  @Command(name = "list", description = "List built guest images, newest first.")
  static final class ListImages implements Callable<Integer> {
    @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
    Path data;

    @Override
    public Integer call() throws IOException {
      // current: what each recipe of this source tree builds to now
      Set<String> current = new HashSet<>();
      for (String recipe : ImageStore.recipes(Paths.recipeDir())) {
        current.add(store(data, recipe).recipeHash());
      }
      System.out.printf("%-14s %-8s %-8s %-10s %-25s %s%n", "IMAGE", "RECIPE", "CURRENT", "SIZE", "BUILT", "PATH");
      for (GuestImage image : store(data, ImageStore.DEFAULT_RECIPE).list()) { // every recipe's
        long used = usedBytes(image);
        System.out.printf("%-14s %-8s %-8s %-10s %-25s %s%n", image.shortHash(), image.recipe().orElse("-"), current.contains(image.hash()) ? "yes" : "",
            (used >> 20) + "M", Instant.ofEpochMilli(image.manifest().toFile().lastModified()), image.dir());
      }
      return 0;
    }

    // Space really used: the rootfs is a sparse file presenting 100 GB, and Java has no portable
    // view of allocated blocks (there is no "unix:blocks" attribute), so du counts them.
    private static long usedBytes(GuestImage image) throws IOException {
      var du = HostCommand.tryRun("du", "-s", "-B1", "--", image.dir().toRealPath().toString());
      if (du.ok() && du.stdout().strip().matches("\\d+\\s.*")) {
        return Long.parseLong(du.stdout().strip().split("\\s+")[0]);
      }
      return Files.size(image.rootfs());
    }
  }
}
