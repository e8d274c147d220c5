#!/usr/bin/env bash
# Front door benchmark, side by side: `ssh … list --json` through a real boxd server against
# `ssh … true` to a local OpenSSH sshd (same client, same key type, both on loopback), with
# hyperfine; then `new` latency with its breakdown from the server's log.
# Usage (root, after `./boxd image build`): bench/frontdoor.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-30}
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
source "$root/bench/lib/server.sh"
sshd_pid=""
extra_cleanup+=('[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null')

# The anchor: OpenSSH's own sshd on a free loopback port, authorizing the same key.
ssh-keygen -q -t ed25519 -N "" -f "$work/sshd_host_key"
mkdir -p "$work/home/.ssh" && cp "$work/key.pub" "$work/home/.ssh/authorized_keys"
cat > "$work/sshd_config" <<CONF
Port 2291
ListenAddress 127.0.0.1
HostKey $work/sshd_host_key
AuthorizedKeysFile $work/home/.ssh/authorized_keys
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $work/sshd.pid
CONF
mkdir -p /run/sshd
/usr/sbin/sshd -D -f "$work/sshd_config" & sshd_pid=$!

start_server 2292 bxbenchfd 10.251.0.0/24 7792

hyperfine -N --warmup 3 --runs "$runs" \
  -n "boxd: ssh list --json" "ssh ${opts[*]} -p 2292 127.0.0.1 list --json" \
  -n "openssh: ssh true" "ssh ${opts[*]} -p 2291 127.0.0.1 true"

echo
echo "new latency (ssh round trip; breakdown from the server log):"
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  ssh "${opts[@]}" -p 2292 127.0.0.1 new --name=b$i --json >/dev/null
  end=$(date +%s%N)
  echo "  new b$i: $(( (end - start) / 1000000 )) ms"
done
grep -E "new b[0-9]:|created VM" "$work/server.log" | sed 's/^/  /' || true
for i in 1 2 3 4 5; do ssh "${opts[@]}" -p 2292 127.0.0.1 destroy -y b$i >/dev/null; done
