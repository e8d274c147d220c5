package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who uses a golden, so that it can be deleted when nobody does. Goldens live in a cache
 * directory that every data directory of a host may share (tests and benchmarks link to one), so
 * no worker may delete one on its own say: each worker that takes a golden claims it (a file in
 * the golden's {@code users/} naming the worker's state directory), releases the claim when none
 * of its VMs, snapshots or warm VMs needs it, and the last to release deletes the golden: its
 * directory and its RAM file. A claim whose state directory is gone (a removed data directory)
 * counts for nothing. A golden without {@code users/} (made before claims existed) is never
 * deleted here. Claims change under the golden's base lock, the one {@link QemuDriver#golden}
 * takes to pick or build a generation.
 *
 * <p>A RAM file names its golden in a file beside it ({@link Golden#ownerFile()}), so that a
 * worker starting up removes the RAM files in /dev/shm whose golden directory is gone, whichever
 * data directory made them ({@link #removeOrphanRam}).
 */
public final class GoldenClaims {
  private static final Logger log = LoggerFactory.getLogger(GoldenClaims.class);
  static final String USERS = "users";

  private GoldenClaims() {}

  /** Records that {@code claimant} (a worker's state directory) uses {@code golden}; call under the base lock. */
  static void claim(Golden golden, Path claimant) throws IOException {
    Path users = golden.dir().resolve(USERS);
    Files.createDirectories(users);
    Path claim = users.resolve(claimName(claimant));
    if (!Files.exists(claim)) {
      Files.writeString(claim, claimant.toAbsolutePath() + "\n");
    }
  }

  /** The golden directories (generations) under {@code goldenRoot} that {@code claimant} has claimed. */
  public static List<Path> claimedBy(Path goldenRoot, Path claimant) {
    if (!Files.isDirectory(goldenRoot)) {
      return List.of();
    }
    String name = claimName(claimant);
    List<Path> claimed = new ArrayList<>();
    try (Stream<Path> bases = Files.list(goldenRoot.toRealPath())) {
      for (Path base : bases.filter(Files::isDirectory).toList()) {
        try (Stream<Path> gens = Files.list(base)) {
          gens.filter(gen -> Files.exists(gen.resolve(USERS).resolve(name))).forEach(claimed::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the goldens under " + goldenRoot + ": " + e.getMessage(), e);
    }
    return claimed;
  }

  /**
   * Golden directories under {@code goldenRoot} whose every claim names a state directory that is
   * gone (test data directories removed, a worker wiped): nobody will release them, so any worker
   * may ({@link #release} then deletes them).
   */
  public static List<Path> abandoned(Path goldenRoot) {
    List<Path> abandoned = new ArrayList<>();
    if (!Files.isDirectory(goldenRoot)) {
      return abandoned;
    }
    try (Stream<Path> bases = Files.list(goldenRoot.toRealPath())) {
      for (Path base : bases.filter(Files::isDirectory).toList()) {
        try (Stream<Path> gens = Files.list(base)) {
          for (Path gen : gens.filter(g -> Files.isDirectory(g.resolve(USERS))).toList()) {
            if (allGone(gen.resolve(USERS))) {
              abandoned.add(gen);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the goldens under " + goldenRoot + ": " + e.getMessage(), e);
    }
    return abandoned;
  }

  private static boolean allGone(Path users) throws IOException {
    try (Stream<Path> claims = Files.list(users)) {
      for (Path claim : claims.toList()) {
        try {
          if (Files.isDirectory(Path.of(Files.readString(claim).strip()))) {
            return false;
          }
        } catch (IOException e) {
          return false; // released meanwhile, or unreadable: not abandoned
        }
      }
    }
    return true;
  }

  /**
   * Whether {@code dir} is the newest generation of a golden of {@code shape}: its base directory
   * is named {@code IMAGE-SHAPE-ACCELERATOR-DIGEST} ({@link QemuDriver#golden}).
   */
  public static boolean isNewestOf(Path dir, MachineShape shape) {
    String[] base = dir.getParent().getFileName().toString().split("-");
    if (base.length < 2 || !base[1].equals(shape.key())) {
      return false;
    }
    try (Stream<Path> gens = Files.list(dir.getParent())) {
      int newest = gens.map(g -> g.getFileName().toString()).filter(n -> n.matches("gen-[0-9]+"))
          .mapToInt(n -> Integer.parseInt(n.substring(4))).max().orElse(0);
      return dir.getFileName().toString().equals("gen-" + newest);
    } catch (IOException e) {
      return true; // cannot tell: keep it
    }
  }

  /**
   * Drops {@code claimant}'s claim on the golden at {@code dir} and, if no live claim remains,
   * deletes the golden (directory, RAM file, owner file). Returns whether it was deleted. A golden
   * whose RAM file some process still maps keeps the claim: the caller tries again later.
   */
  public static boolean release(Path dir, Path claimant) {
    Path base = dir.getParent();
    Golden golden = QemuDriver.goldenAt(dir, null, null);
    try {
      return GoldenLock.holding(base, () -> releaseHeld(dir, golden, claimant));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot collect the golden " + dir + ": " + e.getMessage(), e);
    }
  }

  private static boolean releaseHeld(Path dir, Golden golden, Path claimant) throws IOException {
    if (RamMappers.anyMaps(golden.ramFile())) {
      log.info("golden {} is not collected: a process still maps its RAM file {}", dir, golden.ramFile());
      return false;
    }
    Path users = dir.resolve(USERS);
    if (!Files.isDirectory(users)) {
      return false; // deleted meanwhile by another worker, or never claimed
    }
    Files.deleteIfExists(users.resolve(claimName(claimant)));
    if (!allGone(users)) {
      return false;
    }
    Files.deleteIfExists(golden.ramFile());
    Files.deleteIfExists(golden.ownerFile());
    dev.boxd.os.Trees.delete(dir);
    log.info("collected golden {} and its RAM file {}", dir, golden.ramFile());
    return true;
  }

  /**
   * Removes every golden RAM file in {@code shm} whose golden directory (named by its owner file)
   * is gone and that no process maps; first gives the RAM files of {@code goldenRoot}'s goldens
   * that predate owner files one, so they are recognised from now on. A RAM file with no owner
   * file and no golden here is left (its owner cannot be known) and logged. Returns the removed.
   */
  public static List<Path> removeOrphanRam(Path shm, Path goldenRoot) {
    adoptOwnRamFiles(goldenRoot);
    List<Path> removed = new ArrayList<>();
    try (Stream<Path> files = Files.list(shm)) {
      for (Path ram : files.filter(GoldenClaims::isGoldenRam).toList()) {
        Path ownerFile = Golden.ownerFileOf(ram);
        if (!Files.exists(ownerFile)) {
          log.info("RAM file {} ({} MiB) names no golden directory (made before owner files): left as it is", ram,
              Files.size(ram) >> 20);
          continue;
        }
        Path owner = Path.of(Files.readString(ownerFile).strip());
        if (Files.isDirectory(owner) || RamMappers.anyMaps(ram)) {
          continue;
        }
        long mib = Files.size(ram) >> 20;
        Files.deleteIfExists(ram);
        Files.deleteIfExists(ownerFile);
        removed.add(ram);
        log.info("removed RAM file {} ({} MiB): its golden {} is gone", ram, mib, owner);
      }
      removeLoneOwnerFiles(shm);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot sweep golden RAM files in " + shm + ": " + e.getMessage(), e);
    }
    return removed;
  }

  // An owner file is written before its RAM file (so no RAM file is ever without one): a golden
  // build that died in between leaves it alone, with its golden directory gone too.
  private static void removeLoneOwnerFiles(Path shm) throws IOException {
    try (Stream<Path> files = Files.list(shm)) {
      for (Path ownerFile : files.filter(f -> f.getFileName().toString().startsWith(Golden.RAM_PREFIX)
          && f.getFileName().toString().endsWith(".dir")).toList()) {
        String name = ownerFile.getFileName().toString();
        Path ram = ownerFile.resolveSibling(name.substring(0, name.length() - ".dir".length()) + Golden.RAM_SUFFIX);
        try {
          if (!Files.exists(ram) && !Files.isDirectory(Path.of(Files.readString(ownerFile).strip()))) {
            Files.deleteIfExists(ownerFile);
          }
        } catch (IOException | RuntimeException unreadable) {
          log.info("owner file {} is unreadable; left as it is: {}", ownerFile, unreadable.toString());
        }
      }
    }
  }

  private static void adoptOwnRamFiles(Path goldenRoot) {
    if (!Files.isDirectory(goldenRoot)) {
      return;
    }
    try (Stream<Path> bases = Files.list(goldenRoot.toRealPath())) {
      for (Path base : bases.filter(Files::isDirectory).toList()) {
        try (Stream<Path> gens = Files.list(base)) {
          for (Path gen : gens.filter(g -> g.getFileName().toString().startsWith("gen-")).toList()) {
            Golden golden = QemuDriver.goldenAt(gen, null, null);
            if (Files.exists(golden.ramFile()) && !Files.exists(golden.ownerFile())) {
              Files.writeString(golden.ownerFile(), gen + "\n");
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the goldens under " + goldenRoot + ": " + e.getMessage(), e);
    }
  }

  private static boolean isGoldenRam(Path file) {
    String name = file.getFileName().toString();
    return name.startsWith(Golden.RAM_PREFIX) && name.endsWith(Golden.RAM_SUFFIX) && Files.isRegularFile(file);
  }

  private static String claimName(Path claimant) {
    return QemuDriver.shortDigest(claimant.toAbsolutePath().normalize().toString());
  }

  /** Which processes map a file, from /proc/PID/maps. */
  static final class RamMappers {
    private RamMappers() {}

    static boolean anyMaps(Path file) {
      String wanted = file.toAbsolutePath().normalize().toString();
      try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
        for (Path proc : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
          try {
            String maps = Files.readString(proc.resolve("maps"), StandardCharsets.UTF_8);
            if (maps.contains(wanted)) {
              return true;
            }
          } catch (IOException | UncheckedIOException e) {
            // the process ended, or is not ours to read
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list /proc: " + e.getMessage(), e);
      }
      return false;
    }
  }
}
