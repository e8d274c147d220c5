#!/usr/bin/env bash
# The laptop CLI's wall time, side by side: `boxd machine list --json` as a logged-in user runs it
# (the thin client and the warm resident JVM), and as a call with BOXD_* settings runs it (a JVM
# started for the call, with the class data it keeps between runs), against the same list over
# OpenSSH (`ssh <zone> list --json`: the anchor the CLI must stay within 1.5x of) and against one
# plain gRPC call from Python (stubs by stock protoc: the floor of a fresh process). 10 VMs in the
# account (made, then stopped).
# Usage (root, after `./boxd image build`): bench/cli.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 1; }
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests install -pl cli -am) >&2
source "$root/bench/lib/server.sh"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
https=$(free_port); http=$(free_port); api=$(free_port)
base_server_args=(--no-dns --https "127.0.0.1:$https" --http "127.0.0.1:$http" --api "127.0.0.1:$api")
start_server 2294 bxbenchcli 10.251.0.0/24 7794
"$root/boxd" ca --data "$work/data" --quiet > "$work/ca.pem"
boxd_ssh=(ssh "${opts[@]}" -p 2294 localhost)

echo "making 10 VMs (then stopping them: a list reads the state, not the VMs)..." >&2
for i in $(seq 1 10); do "${boxd_ssh[@]}" new --name "cli-bench-$i" >/dev/null; done
for i in $(seq 1 10); do "${boxd_ssh[@]}" stop "cli-bench-$i" >/dev/null; done
secret=$("${boxd_ssh[@]}" api-key create bench --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')

# the CLI as a laptop has it: the package unpacked, nothing else
mkdir -p "$work/laptop"
tar -xzf "$root/cli/target/boxd-cli.tar.gz" -C "$work/laptop"
# a stored login, as `boxd auth login` leaves it (the calls of the laptop's user; OpenSSH keeps its own ~)
export HOME="$work/home"
mkdir -p "$HOME/.config/boxd" && chmod 700 "$HOME/.config/boxd"
printf '{"api_url":"https://localhost:%s","api_key":"%s","api_key_id":"","user_id":"","ca_cert":"%s"}\n' \
  "$api" "$secret" "$work/ca.pem" > "$HOME/.config/boxd/credentials.json"
chmod 600 "$HOME/.config/boxd/credentials.json"
"$work/laptop/bin/boxd" machine list --json > "$work/cli.json"   # starts the resident process
/usr/bin/python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 10' "$work/cli.json"
# a call that carries its own settings: a JVM of its own
direct=(env BOXD_API_URL="https://localhost:$api" BOXD_TOKEN="$secret" BOXD_CA_CERT="$work/ca.pem" "$work/laptop/bin/boxd")
"${direct[@]}" machine list --json > "$work/cli-direct.json"
/usr/bin/python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == 10' "$work/cli-direct.json"
export BOXD_API_URL="https://localhost:$api" BOXD_TOKEN="$secret" BOXD_CA_CERT="$work/ca.pem"   # for list.py

# the floor: one gRPC call from a fresh Python process (token exchanged once, outside the timing)
mkdir -p "$work/py"
# Debian's protoc (3.21, as python3-protobuf) and its gRPC plugin: grpc_tools' own protoc is too old for proto3 optional
protoc -I "$root/proto/src/main/proto" --python_out="$work/py" --grpc_python_out="$work/py" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" boxd/api/v1/boxd.proto
cat > "$work/py/list.py" <<'PY'
import os, sys, grpc
from boxd.api.v1 import boxd_pb2 as pb, boxd_pb2_grpc as rpc
creds = grpc.ssl_channel_credentials(open(os.environ["BOXD_CA_CERT"], "rb").read())
with grpc.secure_channel(os.environ["BOXD_API_URL"].removeprefix("https://"), creds) as channel:
    api = rpc.BoxdApiStub(channel)
    if len(sys.argv) > 1 and sys.argv[1] == "token":
        print(api.ExchangeApiKey(pb.ExchangeApiKeyRequest(api_key=os.environ["BOXD_TOKEN"])).token)
    else:
        vms = api.ListVms(pb.ListVmsRequest(), metadata=[("authorization", "Bearer " + os.environ["JWT"])]).vms
        assert len(vms) == 10
PY
export JWT=$(cd "$work/py" && /usr/bin/python3 list.py token)

hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  -n "boxd machine list --json (CLI)" "env -u BOXD_API_URL -u BOXD_TOKEN -u BOXD_CA_CERT $work/laptop/bin/boxd machine list --json" \
  -n "BOXD_TOKEN=… boxd machine list --json (CLI, a JVM per call)" "${direct[*]} machine list --json" \
  -n "ssh <zone> list --json (OpenSSH)" "${boxd_ssh[*]} list --json" \
  -n "python3: one ListVms" "/usr/bin/python3 $work/py/list.py" >&2
/usr/bin/python3 - "$work/times.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
cli, direct, ssh, py = (r[k] for k in ("boxd machine list --json (CLI)", "BOXD_TOKEN=… boxd machine list --json (CLI, a JVM per call)",
                                       "ssh <zone> list --json (OpenSSH)", "python3: one ListVms"))
ms = lambda x: f'{x["median"]*1000:7.1f} ms median, {x["mean"]*1000:7.1f} mean'
print(f"CLI     {ms(cli)}")
print(f"CLI JVM {ms(direct)}   (BOXD_* settings: a JVM per call; / ssh = {direct['median']/ssh['median']:.2f}x)")
print(f"ssh     {ms(ssh)}")
print(f"python  {ms(py)}")
print(f"CLI / ssh = {cli['median']/ssh['median']:.2f}x (target <= 1.5x); CLI / python = {cli['median']/py['median']:.2f}x")
PY
for i in $(seq 1 10); do "${boxd_ssh[@]}" destroy -y "cli-bench-$i" >/dev/null; done
# the resident process this run started (it would leave by itself after 15 idle minutes)
for lock in "$HOME"/.cache/boxd/*.lock; do kill "$(cat "$lock")" 2>/dev/null || true; done
