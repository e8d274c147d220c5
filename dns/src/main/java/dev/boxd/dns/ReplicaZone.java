package dev.boxd.dns;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.StateFollower;
import dev.boxd.core.state.StateStore;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The zone's index kept current with the local replica: rebuilt off the log's thread after every
 * applied entry (coalesced: a burst of entries costs one rebuild with the newest state), and, so
 * that an answer is never older than what {@link StateStore#read()} shows (a watcher may run after
 * a propose returned), rebuilt on the spot by a query that finds the replica ahead of the index.
 */
public final class ReplicaZone implements Supplier<ZoneIndex>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaZone.class);

  private final StateStore store;
  private final ZoneConfig config;
  private volatile ZoneIndex current;
  private volatile StateFollower follower;

  private ReplicaZone(StateStore store, ZoneConfig config) {
    this.store = store;
    this.config = config;
    this.current = ZoneIndex.of(config, store.read());
  }

  /** Follows {@code store} from now on. */
  public static ReplicaZone follow(StateStore store, ZoneConfig config) {
    ReplicaZone zone = new ReplicaZone(store, config);
    zone.follower = StateFollower.start("dns-zone-index", store, zone::rebuild,
        e -> log.warn("cannot index the DNS zone from the replica: {}", e.toString()));
    return zone;
  }

  public ZoneConfig config() {
    return config;
  }

  /** The index of the replica's current state. */
  @Override
  public ZoneIndex get() {
    ZoneIndex index = current;
    ClusterState state = store.read();
    return index.source() == state ? index : rebuild(state);
  }

  private synchronized ZoneIndex rebuild(ClusterState state) {
    ZoneIndex index = current;
    // Another thread may have built this state, or a newer one, while this one waited.
    if (index.source().appliedIndex() >= state.appliedIndex()) {
      return index;
    }
    index = index.next(state);
    current = index;
    return index;
  }

  @Override
  public void close() {
    if (follower != null) {
      follower.close();
    }
  }
}
