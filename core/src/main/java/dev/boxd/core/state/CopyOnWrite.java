package dev.boxd.core.state;

import java.util.Collections;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Updates of the unmodifiable sorted collections inside {@link ClusterState}: each returns a new
 * copy and leaves the old one untouched, so a state handed to a reader never changes under it.
 * Copying costs O(n) per update, which is fine for thousands of VMs per replica; a persistent
 * map can replace this class without changing any caller. Sorted, so that iteration order — and
 * therefore snapshots and lists shown to users — is the same on every replica.
 */
final class CopyOnWrite {
  private CopyOnWrite() {}

  static <K, V> SortedMap<K, V> put(SortedMap<K, V> map, K key, V value) {
    TreeMap<K, V> copy = new TreeMap<>(map);
    copy.put(key, value);
    return Collections.unmodifiableSortedMap(copy);
  }

  static <K, V> SortedMap<K, V> remove(SortedMap<K, V> map, K key) {
    if (!map.containsKey(key)) {
      return map;
    }
    TreeMap<K, V> copy = new TreeMap<>(map);
    copy.remove(key);
    return Collections.unmodifiableSortedMap(copy);
  }

  static <T> SortedSet<T> add(SortedSet<T> set, T value) {
    TreeSet<T> copy = new TreeSet<>(set);
    copy.add(value);
    return Collections.unmodifiableSortedSet(copy);
  }

  static <T> SortedSet<T> remove(SortedSet<T> set, T value) {
    TreeSet<T> copy = new TreeSet<>(set);
    copy.remove(value);
    return Collections.unmodifiableSortedSet(copy);
  }

  static <K, V> SortedMap<K, V> empty() {
    return Collections.unmodifiableSortedMap(new TreeMap<>());
  }

  static <T> SortedSet<T> emptySet() {
    return Collections.unmodifiableSortedSet(new TreeSet<>());
  }
}
