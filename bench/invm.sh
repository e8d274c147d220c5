#!/usr/bin/env bash
# In-VM CLI benchmark, side by side:
#  1. `boxd list --json` typed inside a VM (in-VM CLI → gateway) against the same verb over the
#     SSH front door from the host (`ssh … list --json`), N runs each, p50/p90/p99;
#  2. fan-out from inside a VM: 5 workers created, exec'd into and destroyed concurrently, against
#     the same 5 done one after another.
# Usage (root, after `./boxd image build`): bench/invm.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-30}
source "$root/bench/lib/server.sh"
start_server 2293 bxbenchvm 10.252.0.0/24 7793
boxd_ssh() { ssh "${opts[@]}" -p 2293 127.0.0.1 "$@"; }

# Prints "p50 p90 p99 (ms)" of the microsecond numbers on stdin.
percentiles() {
  sort -n | awk '{ v[NR] = $1 } END {
    p = "p50 p90 p99"; split("50 90 99", q, " ");
    for (i = 1; i <= 3; i++) { k = int((NR * q[i] + 99) / 100); if (k < 1) k = 1; printf "p%d %.1f ms  ", q[i], v[k] / 1000 }
    printf "(n=%d)\n", NR }'
}

boxd_ssh new --name=orch --json >/dev/null
boxd_ssh exec orch -- 'boxd list --json >/dev/null'   # warm the guest's page cache and TCG

echo "list --json, $runs runs each:"
host_us=$(for _ in $(seq 1 "$runs"); do
  s=$(date +%s%N); boxd_ssh list --json >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 ))
done)
vm_us=$(boxd_ssh exec orch -- "for i in \$(seq 1 $runs); do s=\$(date +%s%N); boxd list --json >/dev/null; e=\$(date +%s%N); echo \$(( (e - s) / 1000 )); done")
echo "  in-VM CLI (boxd list --json inside orch):   $(percentiles <<< "$vm_us")"
echo "  SSH front door (ssh … list --json on host): $(percentiles <<< "$host_us")"
p50() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
awk -v a="$(p50 <<< "$vm_us")" -v b="$(p50 <<< "$host_us")" 'BEGIN { printf "  ratio in-VM / front door at p50: %.2f\n", a / b }'

echo
echo "fan-out of 5 workers from inside orch (new + exec + destroy each):"
one='boxd new --name=f$i >/dev/null && boxd exec f$i -- "uname -r" >/dev/null && boxd rm -y f$i >/dev/null'
sequential=$(boxd_ssh exec orch -- "s=\$(date +%s%N); for i in 1 2 3 4 5; do $one || exit 1; done; e=\$(date +%s%N); echo \$(( (e - s) / 1000000 ))")
parallel=$(boxd_ssh exec orch -- "s=\$(date +%s%N); for i in 1 2 3 4 5; do ( $one ) & done; wait; e=\$(date +%s%N); echo \$(( (e - s) / 1000000 ))")
echo "  one after another: ${sequential} ms"
echo "  concurrently:      ${parallel} ms"
awk -v a="$parallel" -v b="$sequential" 'BEGIN { printf "  ratio concurrent / sequential: %.2f\n", a / b }'
left=$(boxd_ssh list --json)
echo "  VMs left: $left"
boxd_ssh destroy -y orch >/dev/null
