# Shared by the shell benchmarks: a throwaway boxd server over the machine's image and golden
# cache, with a fresh key linked to user "bench". Source it, then call start_server PORT NETNS SUBNET.
# Sets: work (temp dir), key, opts (ssh options for the key); cleans up on exit.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/boxd-bench.XXXXXX)
cache=${BOXD_DATA:-$HOME/.local/share/boxd}
mkdir -p "$work/data" "$cache/golden"
ln -s "$cache/images" "$work/data/images"
ln -s "$cache/golden" "$work/data/golden"
server_pid=""; bench_netns=""; extra_cleanup=(); extra_server_args=()
base_server_args=(--no-dns --no-edge)   # a benchmark that measures the edge or the API sets its own
cleanup() {
  for c in "${extra_cleanup[@]}"; do eval "$c" || true; done
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$bench_netns" ] && ip netns delete "$bench_netns" 2>/dev/null || true
  # the server's uplink table on the host (EgressLink), which the namespace does not take along
  [ -n "$bench_netns" ] && nft delete table ip "boxd_egress_bxup-$bench_netns" 2>/dev/null || true
  cp "$work/server.log" /tmp/boxd-bench-server.log 2>/dev/null || true   # kept for a look afterwards
  rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -f "$work/key"
key=$work/key
opts=(-i "$work/key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

start_server() {  # PORT NETNS SUBNET RAFT_PORT
  bench_netns=$2
  BOXD_LOG_LEVEL=INFO "$root/boxd" server --data "$work/data" --ssh-port "$1" --raft-port "$4" --vcpus 1 --memory 1024 \
    --netns "$2" --subnet "$3" "${base_server_args[@]}" ${extra_server_args[@]+"${extra_server_args[@]}"} > "$work/server.log" 2>&1 & server_pid=$!
  for _ in $(seq 1 600); do grep -q "boxd is running" "$work/server.log" && break; sleep 0.2; done
  grep -q "boxd is running" "$work/server.log" || { cat "$work/server.log"; exit 1; }
  "$root/boxd" admin --data "$work/data" add-key --user bench "$work/key.pub" >/dev/null
}
