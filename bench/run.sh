#!/usr/bin/env bash
# Runs a benchmark: bench/run.sh runtime [iterations] | log | fork [MiB,MiB,...] [iterations] [memory-forks]. Needs root and a built guest image.
# fork: boxd with pre-copy, boxd without, and the raw recipe side by side; BOXD_BENCH_KSM=1 also measures the forks'
# memory with KSM on (BOXD_BENCH_KSM_PAGES, BOXD_BENCH_KSM_SLEEP_MS; the host's KSM settings are restored afterwards).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests install -pl bench -am) >&2
which=${1:-runtime}; shift || true
case "$which" in
  runtime) main=dev.boxd.bench.RuntimeBench ;;
  log) main=dev.boxd.bench.LogBench ;;
  fork) main=dev.boxd.bench.ForkBench ;;
  *) echo "unknown benchmark: $which (known: runtime, log, fork)" >&2; exit 2 ;;
esac
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dboxd.home="$root" -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" "$main" "$@"
