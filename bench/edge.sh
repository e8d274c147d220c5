#!/usr/bin/env bash
# HTTPS edge benchmark, side by side with nginx as a TLS reverse proxy: both proxy to one backend on
# this host (nginx serving a small static file), so neither VM CPU nor a guest is measured. Both
# present the same kind of certificate (ECDSA P-256 from the edge's CA), offer TLS 1.2 and 1.3 (wrk
# takes 1.3 and resumes its sessions, from both) and HTTP/1.1 keep-alive to wrk. Measured: requests/s and p99 latency at 64 kept-alive connections (targets: >= 0.8x and
# <= 1.5x nginx), and new TLS handshakes/s (each request on a new connection; target >= 0.5x nginx).
# Usage (root): bench/edge.sh [seconds]      needs: apt-get install wrk nginx-light
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
for tool in wrk nginx; do
  command -v $tool >/dev/null || { echo "$tool is needed: apt-get install wrk nginx-light" >&2; exit 1; }
done
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests package -pl bench -am) >&2

work=$(mktemp -d /tmp/boxd-edge-bench.XXXXXX)
nginx_pid=""; edge_pid=""
cleanup() {
  [ -n "$edge_pid" ] && kill "$edge_pid" 2>/dev/null && wait "$edge_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.5; rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
backend=$(free_port); nginx_tls=$(free_port); edge_tls=$(free_port)

"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Dboxd.log.level=WARN \
  -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" dev.boxd.bench.EdgeBench "$edge_tls" "$backend" "$work" \
  > "$work/edge.log" 2>&1 & edge_pid=$!
for _ in $(seq 1 100); do grep -q "edge listening" "$work/edge.log" && break; sleep 0.2; done
grep -q "edge listening" "$work/edge.log" || { cat "$work/edge.log"; exit 1; }

chmod 755 "$work"  # nginx workers run as www-data
mkdir -p "$work/www" && head -c 64 /dev/zero | tr '\0' 'x' > "$work/www/index.html"
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$backend; root $work/www; keepalive_requests 1000000; }
  upstream backend { server 127.0.0.1:$backend; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_tls ssl http2;
    server_name bench.localhost;
    # the protocols the edge offers: nginx 1.22's default is TLSv1.2 and below, whose resumed
    # handshakes (wrk resumes its sessions) skip the key exchange that TLS 1.3's still make
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $work/nginx.crt;
    ssl_certificate_key $work/nginx.key;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
CONF
nginx -c "$work/nginx.conf" -e "$work/nginx-error.log"
for _ in $(seq 1 50); do [ -f "$work/nginx.pid" ] && break; sleep 0.1; done

# wrk takes the TLS server name from the URL: bench.localhost must resolve, without touching the
# host's /etc/hosts: a private mount namespace sees a hosts file of its own.
printf '127.0.0.1 localhost bench.localhost\n' > "$work/hosts"
run_wrk() {  # PORT EXTRA-ARGS...
  local port=$1; shift
  unshare -m sh -c "mount --bind '$work/hosts' /etc/hosts && exec wrk $* https://bench.localhost:$port/"
}
check=$(unshare -m sh -c "mount --bind '$work/hosts' /etc/hosts && curl -sS --cacert '$work/ca.pem' https://bench.localhost:$edge_tls/")
[ "$check" = "$(cat "$work/www/index.html")" ] || { echo "the edge did not serve the backend's file: $check" >&2; cat "$work/edge.log"; exit 1; }

# rps and p99 from wrk --latency output
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'; }

# Steady state is what is compared (a server runs for days): under this load the JIT goes on
# compiling the edge's paths for 20-30 s (-XX:+PrintCompilation: ~6000 methods in the first 10 s,
# ~550 in the next 10, ~150 per 10 s after), and a run measured inside that window is measured
# beside a C2 compiler thread that takes a fifth of the CPU. nginx has nothing to warm but gets
# the same two kinds of load first.
echo "warming up: 30 s kept-alive and 20 s new connections to the edge (the JIT), 2 s each to nginx ..."
run_wrk "$edge_tls" -t2 -c64 -d30s >/dev/null
run_wrk "$edge_tls" -t2 -c64 -d20s -H "'Connection: close'" >/dev/null
run_wrk "$nginx_tls" -t2 -c64 -d2s >/dev/null
run_wrk "$nginx_tls" -t2 -c64 -d2s -H "'Connection: close'" >/dev/null

# CPU time (ticks) of the edge's JVM and of all nginx processes (master, workers: the backend's too).
ticks() { cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{t += $14 + $15} END {print t + 0}'; }
nginx_ticks() { local t=0; for p in $(pgrep -x nginx); do t=$((t + $(ticks "$p"))); done; echo $t; }
requests() { awk '/requests in/ {print $1}'; }
hz=$(getconf CLK_TCK)
declare -A result
for target in edge nginx; do
  port=$([ $target = edge ] && echo "$edge_tls" || echo "$nginx_tls")
  for kind in keep close; do
    e0=$(ticks "$edge_pid"); n0=$(nginx_ticks)
    if [ $kind = keep ]; then
      out=$(run_wrk "$port" -t2 -c64 "-d${seconds}s" --latency)
      result[$target.rps]=$(echo "$out" | rps); result[$target.p99]=$(echo "$out" | p99)
    else
      out=$(run_wrk "$port" -t2 -c64 "-d${seconds}s" -H "'Connection: close'")
      result[$target.hs]=$(echo "$out" | rps)
    fi
    n=$(echo "$out" | requests)
    # CPU per request in microseconds: the edge's own; nginx's includes the backend it serves in both runs.
    result[$target.$kind.edgecpu]=$(awk -v t=$(( $(ticks "$edge_pid") - e0 )) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
    result[$target.$kind.nginxcpu]=$(awk -v t=$(( $(nginx_ticks) - n0 )) -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
  done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf "\n%-44s %12s %12s %8s  %s\n" "" "boxd edge" "nginx" "ratio" "target"
printf "%-44s %12s %12s %8s  %s\n" "keep-alive requests/s (64 conns, 64 B)" "${result[edge.rps]}" "${result[nginx.rps]}" \
  "$(ratio "${result[edge.rps]}" "${result[nginx.rps]}")" ">= 0.8"
printf "%-44s %12s %12s %8s  %s\n" "keep-alive p99 latency (ms)" "${result[edge.p99]}" "${result[nginx.p99]}" \
  "$(ratio "${result[edge.p99]}" "${result[nginx.p99]}")" "<= 1.5"
printf "%-44s %12s %12s %8s  %s\n" "new TLS handshakes/s (Connection: close)" "${result[edge.hs]}" "${result[nginx.hs]}" \
  "$(ratio "${result[edge.hs]}" "${result[nginx.hs]}")" ">= 0.5"
# The proxy's own CPU per request: the edge's JVM; nginx's TLS side is its total less what it spent as the
# backend during the edge's run (the same requests hit the backend in both).
cpu() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", a - b}'; }
for kind in keep close; do
  label=$([ $kind = keep ] && echo "CPU per request, keep-alive (us)" || echo "CPU per request, new TLS connection (us)")
  edge_cpu=${result[edge.$kind.edgecpu]}
  nginx_cpu=$(cpu "${result[nginx.$kind.nginxcpu]}" "${result[edge.$kind.nginxcpu]}")
  printf "%-44s %12s %12s %8s  %s\n" "$label" "$edge_cpu" "$nginx_cpu" "$(ratio "$edge_cpu" "$nginx_cpu")" "(lower is better)"
done
echo "(TLS in the edge: $(grep -o 'TLS: [A-Z_]*' "$work/edge.log"); $(nproc) cores, load average now $(cut -d' ' -f1 /proc/loadavg); nginx worker_processes auto)"
