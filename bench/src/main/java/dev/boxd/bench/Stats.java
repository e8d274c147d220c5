package dev.boxd.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Samples in microseconds and their percentiles. */
final class Stats {
  private final List<Long> micros = new ArrayList<>();

  void add(long valueMicros) {
    micros.add(valueMicros);
  }

  long percentile(double p) {
    List<Long> sorted = new ArrayList<>(micros);
    Collections.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  long p50() {
    return percentile(50);
  }

  long p99() {
    return percentile(99);
  }

  void forEach(java.util.function.LongConsumer each) {
    micros.forEach(each::accept);
  }

  int count() {
    return micros.size();
  }
}
