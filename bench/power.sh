#!/usr/bin/env bash
# Pause/resume benchmark, side by side:
#  - `pause --json` then `resume --json` on one VM over the SSH front door, N rounds: the
#    suspend_us / resume_us each verb reports, and the wall time of each ssh call;
#  - two anchors, after the server is gone (PauseResumeBench): the runtime's own figure, a VM of the
#    same shape paused and resumed N times by an in-process runtime, and raw QEMU, the same golden
#    in a plain QEMU stopped and continued by raw QMP (the round trip of `stop` / `cont`), taking
#    turns round by round at the pace of the SSH rounds; then N times back to back, the way
#    `bench/run.sh runtime` times it (its idle threads never wait to be woken: the lower bound).
# One untimed round first on each side. Prints p50/p90 of each and the ratio reported / raw QEMU (paced).
# Usage (root, after `./boxd image build`): bench/power.sh [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-20}
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
# The anchor's classes, built first so that a failed build leaves no server behind; package, not
# install: the bench runs from its own target/ and leaves the local repository alone.
(cd "$root" && mvn -q -B -DskipTests package -pl bench -am) >&2
source "$root/bench/lib/server.sh"
vm_made=0
anchor_state=$work/anchor
boxd_ssh() { ssh "${opts[@]}" -p 2295 127.0.0.1 "$@"; }

# Ends, by pid, any QEMU still running on this bench's files (a VM whose destroy did not happen).
leftover_qemu() {
  local pid
  for pid in $(pgrep -f -- "$work/" || true); do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ]; then
      echo "power.sh: ending QEMU $pid left on $work" >&2
      kill "$pid" 2>/dev/null || true
    fi
  done
}

extra_cleanup+=('[ "$vm_made" = 1 ] && boxd_ssh destroy -y pw >/dev/null' 'leftover_qemu' 'ip netns delete bxbenchpa 2>/dev/null')
load=$(cut -d ' ' -f 1 /proc/loadavg)   # the machine is shared: how busy it was says how far to trust the numbers
start_server 2295 bxbenchpw 10.253.0.0/24 7795

# The P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { k = int((NR * p + 99) / 100); if (k < 1) k = 1; print v[k] }'; }
# "FIELD_VALUE WALL_US" of one verb over SSH: the JSON field it reports and the ssh call's wall time.
timed_verb() {  # VERB FIELD
  local start end out
  start=$(date +%s%N)
  out=$(boxd_ssh "$1" --json pw)
  end=$(date +%s%N)
  echo "$(sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" <<< "$out") $(( (end - start) / 1000 ))"
}

boxd_ssh new --name=pw --auto-suspend-timeout=0 --json >/dev/null
vm_made=1
timed_verb pause suspend_us >/dev/null   # untimed round: the server's first pause and resume
timed_verb resume resume_us >/dev/null
pauses=""; resumes=""
for _ in $(seq 1 "$rounds"); do
  pauses+="$(timed_verb pause suspend_us)"$'\n'
  resumes+="$(timed_verb resume resume_us)"$'\n'
done
pauses=${pauses%$'\n'}; resumes=${resumes%$'\n'}
boxd_ssh destroy -y pw >/dev/null
vm_made=0
# The server goes before the anchor runs, so the two never share the machine's cores.
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
leftover_qemu

# The anchor waits between calls as long as an ssh call took at p50.
pacing_ms=$(( $(printf '%s\n%s\n' "$pauses" "$resumes" | awk '{ print $2 }' | pct 50) / 1000 ))
anchor=$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Dboxd.home="$root" \
  -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" dev.boxd.bench.PauseResumeBench \
  "$rounds" "$pacing_ms" "$anchor_state" 2> "$work/anchor.log") || { cat "$work/anchor.log" >&2; exit 1; }
accelerator=$(awk '$1 == "accelerator" { print $2 }' <<< "$anchor")
runtime() { awk -v how="$1" -v f="$2" '$1 == how && $2 == f { print $3 }' <<< "$anchor"; }  # paced|back-to-back FIELD

# One table row, in microseconds: reported | runtime paced | raw QEMU paced | ratio reported / raw | runtime b2b | raw b2b, each p50 p90.
row() {  # FIELD REPORTED_SAMPLES
  local paced b2b rpaced rb2b
  paced=$(runtime paced "$1"); b2b=$(runtime back-to-back "$1"); rpaced=$(runtime raw-paced "$1"); rb2b=$(runtime raw-back-to-back "$1")
  awk -v l="$1" -v r50="$(pct 50 <<< "$2")" -v r90="$(pct 90 <<< "$2")" -v a50="$(pct 50 <<< "$paced")" -v a90="$(pct 90 <<< "$paced")" \
    -v q50="$(pct 50 <<< "$rpaced")" -v q90="$(pct 90 <<< "$rpaced")" -v b50="$(pct 50 <<< "$b2b")" -v b90="$(pct 90 <<< "$b2b")" \
    -v c50="$(pct 50 <<< "$rb2b")" -v c90="$(pct 90 <<< "$rb2b")" 'function ratio(a, b) { return b > 0 ? sprintf("%.1fx", a / b) : "-" }
    BEGIN { printf "  %-10s %6d %6d   %6d %6d   %6d %6d   %5s %5s   %6d %6d   %6d %6d\n", l, r50, r90, a50, a90, q50, q90, ratio(r50, q50), ratio(r90, q90), b50, b90, c50, c90 }'
}
echo "pause --json / resume --json over SSH, one VM of 1 vCPU / 1 GiB, $rounds rounds (accelerator ${accelerator:-?}, load average $load at the start, $(cut -d ' ' -f 1 /proc/loadavg) at the end), in us:"
printf "  %-10s %13s   %13s   %13s   %11s   %13s   %13s\n" "" "reported" "runtime" "raw QEMU" "rep./raw" "runtime b2b" "raw QEMU b2b"
printf "  %-10s %6s %6s   %6s %6s   %6s %6s   %5s %5s   %6s %6s   %6s %6s\n" "" p50 p90 p50 p90 p50 p90 p50 p90 p50 p90 p50 p90
row resume_us "$(awk '{ print $1 }' <<< "$resumes")"
row suspend_us "$(awk '{ print $1 }' <<< "$pauses")"
for verb in "resume:$resumes" "pause:$pauses"; do
  samples=$(awk '{ print $2 }' <<< "${verb#*:}")
  awk -v v="${verb%%:*}" -v a="$(pct 50 <<< "$samples")" -v b="$(pct 90 <<< "$samples")" \
    'BEGIN { printf "  ssh %s --json, wall time of the whole call: p50 %.1f ms  p90 %.1f ms\n", v, a / 1000, b / 1000 }'
done
echo "  (runtime: the same shape in an in-process runtime; raw QEMU: the QMP round trip of stop / cont on a plain QEMU of"
echo "   the same golden; both paced, a call every ${pacing_ms} ms (the ssh calls' p50), taking turns; b2b: back to back)"
awk -v r="$(awk '{ print $1 }' <<< "$resumes" | pct 50)" 'BEGIN {
  printf "resume_us reported at p50: %d us, %s the 1,000 us target\n", r, r < 1000 ? "under" : "over" }'
