#!/usr/bin/env bash
# API benchmark, side by side: GetVm and ListVms over gRPC (TLS, a token from the exchange) with
# 100 VMs in the state, 16 clients at once, beside the same reads over the SSH front door and
# beside etcd's get (one key; a prefix of 100 keys) on this machine; then `exec true` over gRPC
# against over SSH. The VMs are made through the API (all but one then stopped) and destroyed at
# the end.
# Usage (root, after `./boxd image build`): bench/api.sh [seconds per measurement]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
command -v etcd >/dev/null || { echo "etcd is needed: apt-get install etcd-server" >&2; exit 1; }
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests package -pl bench -am) >&2
source "$root/bench/lib/server.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
https=$(free_port); http=$(free_port); api=$(free_port)
etcd_client=$(free_port); etcd_peer=$(free_port); etcd_pid=""
extra_cleanup+=('[ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null')

etcd --name bench --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_client" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client" --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" --initial-cluster "bench=http://127.0.0.1:$etcd_peer" \
  --logger zap --log-level warn > "$work/etcd.log" 2>&1 & etcd_pid=$!

base_server_args=(--no-dns --https "127.0.0.1:$https" --http "127.0.0.1:$http" --api "127.0.0.1:$api")
start_server 2293 bxbenchapi 10.252.0.0/24 7793
"$root/boxd" admin --data "$work/data" set-quota --user bench --vms 110 --vcpus 220 --memory-mib 230000 --disk-gb 11000 >/dev/null
"$root/boxd" ca --data "$work/data" --quiet > "$work/ca.pem"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$etcd_client/health" >/dev/null && break; sleep 0.1; done

"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Dboxd.log.level=WARN \
  -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" dev.boxd.bench.ApiBench \
  2293 "$key" "$https" "$api" "$work/ca.pem" "http://127.0.0.1:$etcd_client" "$seconds"
