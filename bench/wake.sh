#!/usr/bin/env bash
# Wake benchmark, side by side: time for a TCP connect to a VM's sshd (the handshake: the guest
# kernel's answer to the first packet) and until its banner arrives (sshd's first bytes),
#  - for a running VM (the anchor),
#  - for the same VM in standby (paused: the first packet wakes it),
#  - for the same VM hibernated (memory on disk, QEMU gone), with 256 MiB of its 1 GiB written,
# measured from inside the VM network namespace, N runs each; prints p50/p90 and the added time.
# Usage (root, after `./boxd image build`): bench/wake.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
source "$root/bench/lib/server.sh"
start_server 2294 bxbenchwk 10.254.0.0/24 7794
boxd_ssh() { ssh "${opts[@]}" -p 2294 127.0.0.1 "$@"; }

# One connect, in microseconds: "HANDSHAKE BANNER", from the namespace (the gateway's side of the bridge).
banner_us() {
  ip netns exec bxbenchwk python3 -c '
import socket, sys, time
t = time.perf_counter()
s = socket.create_connection((sys.argv[1], 22), timeout=30)
c = time.perf_counter()
s.recv(64)
print(int((c - t) * 1e6), int((time.perf_counter() - t) * 1e6))' "$1"
}
first() { awk '{ print $1 }'; }
second() { awk '{ print $2 }'; }
percentiles() {
  sort -n | awk '{ v[NR] = $1 } END { printf "p50 %.2f ms  p90 %.2f ms  (n=%d)", v[int((NR + 1) / 2)] / 1000, v[int((NR * 9 + 9) / 10)] / 1000, NR }'
}
p50() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ip=$(boxd_ssh new --name=w --auto-suspend-timeout=0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
boxd_ssh exec w -- 'head -c 256M /dev/urandom > /dev/shm/fill'
banner_us "$ip" >/dev/null   # warm: ARP, the guest's sshd pages

running=$(for _ in $(seq 1 "$runs"); do banner_us "$ip"; done)
standby=$(for _ in $(seq 1 "$runs"); do
  boxd_ssh pause w >/dev/null
  banner_us "$ip"
done)
hibernated=$(for _ in $(seq 1 "$runs"); do
  boxd_ssh hibernate w >/dev/null
  banner_us "$ip"
done)
for what in "TCP handshake:first" "SSH banner:second"; do
  label=${what%%:*}; pick=${what##*:}
  echo "$label, 1 GiB VM with 256 MiB written:"
  echo "  running (anchor): $($pick <<< "$running" | percentiles)"
  echo "  standby:          $($pick <<< "$standby" | percentiles)"
  echo "  hibernated:       $($pick <<< "$hibernated" | percentiles)"
  awk -v a="$($pick <<< "$standby" | p50)" -v h="$($pick <<< "$hibernated" | p50)" -v r="$($pick <<< "$running" | p50)" 'BEGIN {
    printf "  added by waking, p50: standby %.2f ms, hibernation %.0f ms\n", (a - r) / 1000, (h - r) / 1000 }'
done
grep -E "woken by inbound traffic|woke from hibernation|hibernated in" "$work/server.log" | tail -n 6 | sed 's/^/  log: /'
boxd_ssh destroy -y w >/dev/null
