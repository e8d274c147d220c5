#!/usr/bin/env bash
# DNS benchmark, side by side: boxd's dns role (dev.boxd.bench.DnsBench: the role's replica, index and listener
# over a state of N running VMs) against Debian's nsd serving the same names from a zone file (NAME and *.NAME
# for each VM, the SOA and NS boxd answers), both on loopback as they run by default (nsd: one server process, which
# measured faster here than two; boxd: the dns role's UDP threads, one per core, at least two) and with responses of
# the same size (nsd: minimal-responses, no rate limit). dnsperf sends the same query file to each for
# a fixed time per run — every name once in a shuffled order: NAME, every fourth SUB.NAME, every tenth a missing
# name — alternating rounds so background load hits both alike. Prints queries/s, latency and the ratio.
# Usage: bench/dns.sh [seconds per run, 15] [rounds, 3] [names, 10000]. Needs nsd and dnsperf (apt-get install nsd dnsperf).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-15}
rounds=${2:-3}
count=${3:-10000}
for tool in nsd dnsperf dig; do
  command -v "$tool" >/dev/null || { echo "$tool is needed: apt-get install nsd dnsperf bind9-dnsutils" >&2; exit 1; }
done
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests package -pl bench -am) >&2

work=$(mktemp -d /tmp/boxd-dnsbench.XXXXXX)
boxd_pid=""
cleanup() {
  [ -n "$boxd_pid" ] && kill "$boxd_pid" 2>/dev/null && wait "$boxd_pid" 2>/dev/null || true
  [ -f "$work/nsd.pid" ] && kill "$(cat "$work/nsd.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
boxd_port=$(free_port)
nsd_port=$(free_port)

"$JAVA_HOME/bin/java" -Xmx512m --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" dev.boxd.bench.DnsBench \
  "$boxd_port" "$count" "$work/localhost.zone" "$work/queries" > "$work/boxd.log" 2>&1 & boxd_pid=$!
for _ in $(seq 1 300); do grep -q "^serving" "$work/boxd.log" && break; sleep 0.2; done
grep -q "^serving" "$work/boxd.log" || { cat "$work/boxd.log"; exit 1; }

cat > "$work/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$nsd_port
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/zone.list"
  xfrdfile: "$work/xfrd.state"
  pidfile: "$work/nsd.pid"
  logfile: "$work/nsd.log"
  minimal-responses: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: localhost
  zonefile: $work/localhost.zone
CONF
nsd -c "$work/nsd.conf"
probe=$(head -n 1 "$work/queries" | cut -d' ' -f1)
for _ in $(seq 1 100); do [ -n "$(dig +short +tries=1 +time=1 @127.0.0.1 -p "$nsd_port" "$probe")" ] && break; sleep 0.2; done
boxd_answer=$(dig +short @127.0.0.1 -p "$boxd_port" "$probe")
nsd_answer=$(dig +short @127.0.0.1 -p "$nsd_port" "$probe")
[ "$boxd_answer" = "$nsd_answer" ] && [ -n "$boxd_answer" ] \
  || { echo "the servers disagree on $probe: boxd '$boxd_answer', nsd '$nsd_answer'" >&2; cat "$work/nsd.log"; exit 1; }

perf() {  # PORT SECONDS -> "qps avg_latency_ms lost"
  dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$2" -c 4 -T 1 -q 100 2>&1 | awk '
    /Queries per second/ { qps = $4 } /Average Latency/ { lat = $4 * 1000 } /Queries lost/ { lost = $3 }
    END { printf "%.0f %.3f %s\n", qps, lat, lost }'
}
echo "$count names, $rounds rounds of ${seconds}s each, dnsperf -c 4 -q 100; warming up both for 5s" >&2
perf "$boxd_port" 5 >/dev/null
perf "$nsd_port" 5 >/dev/null
printf "%-6s %-6s %12s %14s %6s\n" round server "queries/s" "avg latency" lost
boxd_all=(); nsd_all=(); boxd_lat=(); nsd_lat=()
for r in $(seq 1 "$rounds"); do
  read -r q l lost <<<"$(perf "$nsd_port" "$seconds")"; nsd_all+=("$q"); nsd_lat+=("$l")
  printf "%-6s %-6s %12s %11s ms %6s\n" "$r" nsd "$q" "$l" "$lost"
  read -r q l lost <<<"$(perf "$boxd_port" "$seconds")"; boxd_all+=("$q"); boxd_lat+=("$l")
  printf "%-6s %-6s %12s %11s ms %6s\n" "$r" boxd "$q" "$l" "$lost"
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bq=$(median "${boxd_all[@]}"); nq=$(median "${nsd_all[@]}")
bl=$(median "${boxd_lat[@]}"); nl=$(median "${nsd_lat[@]}")
echo
printf "median  boxd %s q/s (avg latency %s ms), nsd %s q/s (avg latency %s ms)\n" "$bq" "$bl" "$nq" "$nl"
awk -v b="$bq" -v n="$nq" 'BEGIN { printf "ratio   boxd/nsd queries/s: %.2f (target >= 0.5)\n", b / n }'
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
