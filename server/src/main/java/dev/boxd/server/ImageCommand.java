package dev.boxd.server;

import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageImport;
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

@Command(name = "image", description = "Build, import and list guest images.",
    subcommands = {ImageCommand.Build.class, ImageCommand.Import.class, ImageCommand.ListImages.class})
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

  @Command(name = "import", description = "Make an image of a root file system tarball (.tar, .tar.gz) or a docker save archive,"
      + " with the platform's agent, CLI, user boxd and sshd settings; VMs use it with new --image=NAME.")
  static final class Import implements Callable<Integer> {
    @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
    Path data;

    @Option(names = "--name", required = true, description = "the image's name (a-z, 0-9, '-'): new --image=NAME")
    String name;

    @picocli.CommandLine.Parameters(index = "0", paramLabel = "FILE", description = "rootfs .tar/.tar.gz or docker save archive")
    Path file;

    @Override
    public Integer call() {
      GuestImage image = new ImageImport(store(data, ImageStore.DEFAULT_RECIPE)).run(file, name, System.out::println);
      System.out.println(image.dir());
      return 0;
    }
  }

  @Command(name = "list", description = "List guest images (built from recipes and imported), newest first.")
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
      ImageStore store = store(data, ImageStore.DEFAULT_RECIPE);
      // NAME: what new --image takes: an imported image's name, or a recipe's for its current build
      java.util.Map<String, java.util.List<String>> namesOf = new java.util.HashMap<>();
      store.names().forEach((name, hash) -> namesOf.computeIfAbsent(hash, h -> new java.util.ArrayList<>()).add(name));
      System.out.printf("%-14s %-14s %-8s %-8s %-10s %-25s %s%n", "NAME", "IMAGE", "RECIPE", "CURRENT", "SIZE", "MADE", "PATH");
      for (GuestImage image : store.list()) { // every recipe's and every import's
        long used = usedBytes(image);
        String recipe = image.recipe().orElse("-");
        String name = namesOf.containsKey(image.hash()) ? String.join(",", namesOf.get(image.hash()))
            : current.contains(image.hash()) ? recipe : "-";
        System.out.printf("%-14s %-14s %-8s %-8s %-10s %-25s %s%n", name, image.shortHash(), image.imported() ? "import" : recipe,
            current.contains(image.hash()) ? "yes" : "", (used >> 20) + "M", Instant.ofEpochMilli(image.manifest().toFile().lastModified()), image.dir());
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
