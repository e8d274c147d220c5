package dev.boxd.worker.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.vmm.Golden;
import dev.boxd.vmm.GoldenClaims;
import dev.boxd.core.MachineShape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The goldens of one worker, by shape, and their collection. Every distinct size makes a golden
 * (a RAM file in /dev/shm as large as the guest has touched, and a directory); one no VM needs
 * is released ({@link GoldenClaims}) and deleted once no other worker claims it either. In use
 * are the goldens named by a VM record (running, stopped, hibernated, forks, VMs being made) or a
 * snapshot's record, the current golden of every VM's shape (a cold boot maps the current RAM
 * file), and the current image's newest golden of each kept shape (the default size and the warm
 * pool's), which is never collected; a kept shape's golden of an older image goes once unused, or
 * every image rebuild would leave one in /dev/shm for good. Goldens claimed only by data directories that are gone are
 * collected by whichever worker comes by. A golden handed out less than {@link #GRACE} ago is left too: its caller may not
 * have written the record that names it yet.
 */
final class GoldenCollector implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GoldenCollector.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Longer than any step between taking a golden and writing the record that names it. */
  static final Duration GRACE = Duration.ofMinutes(2);

  private final Path goldenRoot;
  private final Path claimant;
  private final Path vmsDir;
  private final Path snapshotsDir;
  // Guarded by this: the current golden per shape, when each golden was last handed out, and
  // how many goldens are being made (no collection meanwhile: a fresh claim has no user yet).
  private final Map<Key, Golden> current = new HashMap<>();
  private final Map<Path, Long> handedOutNanos = new HashMap<>();
  private final Set<MachineShape> kept = new HashSet<>();
  private int making;
  /** The short hash of the image goldens are made from now, if one is built. */
  private final Supplier<Optional<String>> currentImage;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean closed;

  GoldenCollector(RuntimeConfig config, Supplier<Optional<String>> currentImage) {
    this.currentImage = currentImage;
    this.goldenRoot = config.goldenDir();
    this.claimant = config.stateDir().toAbsolutePath();
    this.vmsDir = config.vmsDir();
    this.snapshotsDir = config.snapshotsDir();
  }

  /** An image by name (empty: the default image) and a shape: each has a golden of its own. */
  private record Key(String image, MachineShape shape) {}

  /** The golden of the default image for {@code shape}: the current one, or one {@code make} returns (claimed for this worker). */
  Golden golden(MachineShape shape, Function<MachineShape, Golden> make) {
    return golden("", shape, make);
  }

  /** The golden of the image named {@code image} (empty: the default) for {@code shape}. */
  Golden golden(String image, MachineShape shape, Function<MachineShape, Golden> make) {
    Key key = new Key(image, shape);
    synchronized (this) {
      Golden golden = current.get(key);
      if (golden != null) {
        handedOutNanos.put(golden.dir(), System.nanoTime());
        return golden;
      }
      making++;
    }
    try {
      // Two first callers of one shape both get here; the driver's lock has the second find the
      // first one's golden.
      Golden made = make.apply(shape);
      synchronized (this) {
        Golden golden = current.computeIfAbsent(key, k -> made);
        handedOutNanos.put(golden.dir(), System.nanoTime());
        return golden;
      }
    } finally {
      synchronized (this) {
        making--;
      }
    }
  }

  /** The state directory that claims goldens for this worker. */
  Path claimant() {
    return claimant;
  }

  /** Never collects the golden of {@code shape} (the default size, the warm pool's). */
  synchronized void keep(MachineShape shape) {
    kept.add(shape);
  }

  /** The current golden of {@code shape}, if this worker has one. */
  synchronized Optional<Golden> current(MachineShape shape) {
    return Optional.ofNullable(current.get(new Key("", shape)));
  }

  /**
   * Releases every golden this worker claimed that nothing here uses: not {@code inUse} (what
   * the runtime's VMs in memory use), not named by a record on disk, not of a kept shape, not
   * handed out within {@code grace}. Returns the goldens deleted (others may still claim one).
   */
  synchronized List<Path> collect(Set<Path> inUse, Duration grace) {
    if (making > 0 || closed) {
      return List.of();
    }
    Set<Path> used = new HashSet<>(inUse);
    used.addAll(namedOnDisk());
    kept.forEach(shape -> Optional.ofNullable(current.get(new Key("", shape))).ifPresent(g -> used.add(g.dir())));
    long now = System.nanoTime();
    List<Path> deleted = new ArrayList<>();
    Set<Path> candidates = new java.util.LinkedHashSet<>(GoldenClaims.claimedBy(goldenRoot, claimant));
    candidates.addAll(GoldenClaims.abandoned(goldenRoot)); // claimed only by data directories that are gone
    String image = currentImage.get().map(hash -> hash + "-").orElse("");
    for (Path dir : candidates) {
      Long handedOut = handedOutNanos.get(dir);
      // A kept shape's newest golden of the current image stays even before this worker has asked
      // for it (a restart); with no image built yet, every image's does.
      boolean keptShape = dir.getParent().getFileName().toString().startsWith(image)
          && kept.stream().anyMatch(shape -> GoldenClaims.isNewestOf(dir, shape));
      if (used.contains(dir) || keptShape || (handedOut != null && now - handedOut < grace.toNanos())) {
        continue;
      }
      current.values().removeIf(g -> g.dir().equals(dir));
      handedOutNanos.remove(dir);
      if (GoldenClaims.release(dir, claimant)) {
        deleted.add(dir);
      }
    }
    return deleted;
  }

  /**
   * Collects once {@link #GRACE} has passed (a VM just destroyed may have taken its golden less
   * than that ago); calls while one is pending join it.
   */
  void collectLater(Supplier<Set<Path>> inUse) {
    if (closed || !scheduled.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual().name("golden-collector").start(() -> {
      try {
        Thread.sleep(GRACE.plusSeconds(1));
        scheduled.set(false);
        collect(inUse.get(), GRACE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        log.warn("collecting unused goldens failed: {}", e.getMessage());
      }
    });
  }

  /** Golden directories named by VM and snapshot records on disk (any VM here, loaded or not). */
  private Set<Path> namedOnDisk() {
    Set<Path> named = new HashSet<>();
    for (Path record : records()) {
      try {
        JsonNode golden = JSON.readTree(record.toFile()).path("goldenDir");
        if (golden.isTextual()) {
          named.add(Path.of(golden.asText()));
        }
      } catch (IOException e) {
        // Unreadable (being written, or corrupt): nothing can be said of its golden, so keep all.
        log.warn("golden collection skipped: cannot read {}: {}", record, e.getMessage());
        throw new java.io.UncheckedIOException(e);
      }
    }
    return named;
  }

  private List<Path> records() {
    List<Path> records = new ArrayList<>();
    for (Path dir : List.of(vmsDir, snapshotsDir)) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> entries = Files.list(dir)) {
        for (Path entry : entries.toList()) {
          Stream.of("vm.json", "vm.json.tmp", "boxd.json", "boxd.json.tmp").map(entry::resolve).filter(Files::isRegularFile)
              .forEach(records::add);
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
      }
    }
    return records;
  }

  @Override
  public void close() {
    closed = true;
  }
}
