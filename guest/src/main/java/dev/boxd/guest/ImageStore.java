package dev.boxd.guest;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.os.HostCommand;
import dev.boxd.os.Trees;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import dev.boxd.core.ImageNames;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Guest images cached by the content hash of their recipe ({@code guest/image} with one of its
 * {@code recipes/NAME}, {@code guest/agent} and {@code guest/cli} in the source tree, plus the
 * recipe's name and the installed kernel package version), under {@code <data>/images/<hash>/}.
 * A build runs at most once per machine and recipe; a change to any recipe file gives a new hash
 * and a new image beside the old ones. A change to another recipe's own directory does not.
 */
public final class ImageStore {
  /** The image users get: Debian with the usual toolchain, Docker and nginx ({@code guest/image/recipes/full}). */
  public static final String DEFAULT_RECIPE = "full";
  /** The base alone, for tests that need a Linux that boots and nothing more. */
  public static final String SMALL_RECIPE = "small";
  /** The directories of {@code guest} whose files (tests aside) make up the recipe. */
  /** Image builds in progress in this process, by the real path of their images directory. */
  private static final ConcurrentHashMap<Path, ReentrantLock> BUILDS = new ConcurrentHashMap<>();
  private static final List<String> RECIPE_DIRS = List.of("image", "agent", "cli");

  private final Path imagesDir;
  private final Path recipeDir;
  private final String recipe;

  /**
   * The store of the default recipe.
   *
   * @param imagesDir where built images live
   * @param recipeDir the {@code guest} directory of the source tree
   */
  public ImageStore(Path imagesDir, Path recipeDir) {
    this(imagesDir, recipeDir, DEFAULT_RECIPE);
  }

  /** @param recipe the name of a directory under {@code guest/image/recipes} */
  public ImageStore(Path imagesDir, Path recipeDir, String recipe) {
    this.imagesDir = imagesDir;
    this.recipeDir = recipeDir;
    this.recipe = requireRecipe(recipeDir, recipe);
  }

  /** The recipes the source tree has: the directories of {@code guest/image/recipes}. */
  public static List<String> recipes(Path recipeDir) {
    Path dir = recipeDir.resolve("image/recipes");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.filter(d -> Files.isRegularFile(d.resolve("packages"))).map(d -> d.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the image recipes in " + dir, e);
    }
  }

  private static String requireRecipe(Path recipeDir, String recipe) {
    List<String> known = recipes(recipeDir);
    if (!known.contains(recipe)) {
      throw BoxdException.invalid("unknown image recipe '" + recipe + "': expected one of " + known
          + " (the directories of " + recipeDir.resolve("image/recipes") + ")");
    }
    return recipe;
  }

  /** The recipe this store builds: a directory name under {@code guest/image/recipes}. */
  public String recipe() {
    return recipe;
  }

  /** The hash the current recipe builds to. */
  public String recipeHash() {
    return digestOfTree(recipeDir.resolve("image/recipes").resolve(recipe), "recipe " + recipe + "\0");
  }

  /**
   * The hash an imported image is kept under: the archive's own digest with everything that
   * finishes it (the platform files, agent and CLI, no recipe's directory, the kernel).
   */
  String importHash(String archiveSha256) {
    return digestOfTree(null, "import " + archiveSha256 + "\0");
  }

  // guest/image (with the recipe directory `own`, no other recipe's), guest/agent and guest/cli,
  // then `tag` and the kernel package version
  private String digestOfTree(Path own, String tag) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      List<Path> files = new ArrayList<>();
      Path recipes = recipeDir.resolve("image/recipes");
      for (String dir : RECIPE_DIRS) {
        try (Stream<Path> walk = Files.walk(recipeDir.resolve(dir))) {
          walk.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/test/"))
              .filter(p -> !p.startsWith(recipes) || (own != null && p.startsWith(own)))
              .forEach(files::add);
        }
      }
      files.sort(Comparator.naturalOrder());
      for (Path file : files) {
        digest.update(recipeDir.relativize(file).toString().getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
        digest.update(Files.readAllBytes(file));
      }
      digest.update(tag.getBytes(StandardCharsets.UTF_8));
      digest.update(kernelPackageVersion().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the image recipe under " + recipeDir, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String kernelPackageVersion() {
    var result = HostCommand.tryRun("dpkg-query", "-W", "-f=${Version}", "linux-image-cloud-amd64");
    if (!result.ok()) {
      throw new BoxdException(ErrorCode.FAILED_PRECONDITION,
          "the Debian package linux-image-cloud-amd64 is not installed; it provides the guest kernel (apt-get install linux-image-cloud-amd64)");
    }
    return result.stdout().strip();
  }

  /** The image of the current recipe, if it has been built. */
  public Optional<GuestImage> current() {
    Path dir = imagesDir.resolve(recipeHash());
    return Files.isRegularFile(dir.resolve("manifest.json")) ? Optional.of(new GuestImage(dir.getFileName().toString(), dir)) : Optional.empty();
  }

  /** The image of the current recipe, built first if needed, with progress lines to {@code progress}. */
  public GuestImage build(Consumer<String> progress) {
    String hash = recipeHash();
    Path target = imagesDir.resolve(hash);
    try {
      if (Files.isRegularFile(target.resolve("manifest.json"))) { // built: no lock needed to read it
        progress.accept("image " + hash.substring(0, 12) + " is already built: " + target);
        return new GuestImage(hash, target).validate();
      }
      Files.createDirectories(imagesDir);
      // One build at a time per machine: a second caller waits, then finds the image built. The
      // file lock keeps other processes out; threads of this one (the warm pool and a first `new`)
      // queue on an in-process lock first, since the JVM refuses a second lock on the same file
      // with OverlappingFileLockException instead of waiting.
      ReentrantLock local = BUILDS.computeIfAbsent(imagesDir.toRealPath(), d -> new ReentrantLock());
      local.lock();
      try (FileChannel lock = FileChannel.open(imagesDir.resolve(".build.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          var held = lock.lock()) {
        if (Files.isRegularFile(target.resolve("manifest.json"))) {
          progress.accept("image " + hash.substring(0, 12) + " is already built: " + target);
          return new GuestImage(hash, target).validate();
        }
        Path work = imagesDir.resolve(".build-" + hash.substring(0, 12));
        Trees.delete(work);
        Files.createDirectories(work);
        progress.accept("building guest image " + hash.substring(0, 12) + " (recipe " + recipe + ") in " + work);
        Path agent = work.resolve("boxd-agent");
        Path cli = work.resolve("boxd");
        try {
          runStep(progress, List.of("bash", recipeDir.resolve("agent/build.sh").toString(), agent.toString()));
          runStep(progress, List.of("bash", recipeDir.resolve("cli/build.sh").toString(), cli.toString()));
          runStep(progress, List.of("env", "BOXD_IMAGE_CACHE=" + imagesDir.resolve(".debcache"), "BOXD_IMAGE_RECIPE=" + recipe,
              "bash", recipeDir.resolve("image/build-image.sh").toString(), work.toString(), agent.toString(), cli.toString()));
          Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (RuntimeException | IOException e) {
          Trees.delete(work);
          throw e;
        }
        progress.accept("image " + hash.substring(0, 12) + " built: " + target);
        return new GuestImage(hash, target).validate();
      } finally {
        local.unlock();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("image build failed: " + e.getMessage(), e);
    }
  }

  static void runStep(Consumer<String> progress, List<String> argv) throws IOException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        progress.accept(line);
      }
    }
    try {
      int code = process.waitFor();
      if (code != 0) {
        throw new BoxdException(ErrorCode.INTERNAL, "image build step failed (exit " + code + "): " + String.join(" ", argv));
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.INTERNAL, "image build interrupted");
    }
  }

  /** The directory of named (imported) images: one file per name holding its image's hash. */
  Path namesDir() {
    return imagesDir.resolve("names");
  }

  Path imagesDir() {
    return imagesDir;
  }

  Path recipeDir() {
    return recipeDir;
  }

  /** The image a name stands for: an imported image's name, or a recipe's (its current build). */
  public Optional<GuestImage> named(String name) {
    if (recipes(recipeDir).contains(name)) {
      return (name.equals(recipe) ? this : new ImageStore(imagesDir, recipeDir, name)).current();
    }
    if (!ImageNames.isValid(name)) {
      return Optional.empty();
    }
    Path file = namesDir().resolve(name);
    try {
      if (!Files.isRegularFile(file)) {
        return Optional.empty();
      }
      String hash = Files.readString(file).strip();
      Path dir = imagesDir.resolve(hash);
      return hash.matches("[0-9a-f]{64}") && Files.isRegularFile(dir.resolve("manifest.json"))
          ? Optional.of(new GuestImage(hash, dir)) : Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the image name " + file, e);
    }
  }

  /** The names of imported images, sorted, with the hash each stands for. */
  public java.util.SortedMap<String, String> names() {
    java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
    if (!Files.isDirectory(namesDir())) {
      return out;
    }
    try (Stream<Path> files = Files.list(namesDir())) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String name = f.getFileName().toString();
        if (ImageNames.isValid(name)) {
          out.put(name, Files.readString(f).strip());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Every built image in the store's directory, of any recipe, newest first. */
  public List<GuestImage> list() {
    if (!Files.isDirectory(imagesDir)) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(imagesDir)) {
      return dirs.filter(d -> Files.isRegularFile(d.resolve("manifest.json")))
          .sorted(Comparator.comparing((Path d) -> d.resolve("manifest.json").toFile().lastModified()).reversed())
          .map(d -> new GuestImage(d.getFileName().toString(), d))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
