package dev.boxd.server;

import dev.boxd.guest.GuestImage;
import dev.boxd.guest.ImageStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "image", description = "Build and list guest images.", subcommands = {ImageCommand.Build.class, ImageCommand.ListImages.class})
final class ImageCommand {

  static ImageStore store(Path data) {
    return new ImageStore(Paths.dataDir(data).resolve("images"), Paths.recipeDir());
  }

  @Command(name = "build", description = "Build the guest image of the current recipe (cached by content hash).")
  static final class Build implements Callable<Integer> {
    @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
    Path data;

    @Override
    public Integer call() {
      GuestImage image = store(data).build(System.out::println);
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
      ImageStore store = store(data);
      String current = store.recipeHash();
      System.out.printf("%-14s %-8s %-10s %-25s %s%n", "IMAGE", "CURRENT", "SIZE", "BUILT", "PATH");
      for (GuestImage image : store.list()) {
        long bytes = Files.size(image.rootfs()) ;
        long used = usedBytes(image);
        System.out.printf("%-14s %-8s %-10s %-25s %s%n", image.shortHash(), image.hash().equals(current) ? "yes" : "",
            (used >> 20) + "M", Instant.ofEpochMilli(image.manifest().toFile().lastModified()), image.dir());
      }
      return 0;
    }

    // Space really used: the rootfs is a sparse file presenting 100 GB.
    private static long usedBytes(GuestImage image) throws IOException {
      long total = 0;
      try (var files = Files.list(image.dir())) {
        for (Path f : files.toList()) {
          Object blocks = Files.getAttribute(f, "unix:blocks");
          total += ((Number) blocks).longValue() * 512;
        }
      } catch (UnsupportedOperationException e) {
        total = Files.size(image.rootfs());
      }
      return total;
    }
  }
}
