#!/usr/bin/env bash
# The three SDKs side by side: time from create to the first exec's result (a new VM, `true` run
# in it, the result back), as code driving VMs sees it, p50 and p90 over N rounds each; the VM is
# deleted after each round, outside the timing. One server, one API key, one SDK at a time.
# Usage (root, after `./boxd image build`): bench/sdk.sh [rounds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-20}
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
(cd "$root" && mvn -q -B -DskipTests package -pl bench -am) >&2
(cd "$root/sdk/typescript" && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; } && npm run --silent build) >&2
"$root/sdk/python/build.sh" >&2
source "$root/bench/lib/server.sh"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
https=$(free_port); http=$(free_port); api=$(free_port)
base_server_args=(--no-dns --https "127.0.0.1:$https" --http "127.0.0.1:$http" --api "127.0.0.1:$api")
start_server 2295 bxbenchsdk 10.250.0.0/24 7795
"$root/boxd" ca --data "$work/data" --quiet > "$work/ca.pem"
key=$(ssh "${opts[@]}" -p 2295 localhost api-key create bench --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
url="https://localhost:$api"

cat > "$work/bench.mjs" <<JS
import { Boxd } from '$root/sdk/typescript/dist/index.js';
const boxd = new Boxd({ apiKey: process.argv[2], baseURL: process.argv[3], caCert: process.argv[4] });
await boxd.whoami();
for (let i = 0; i < Number(process.argv[5]); i++) {
  const started = process.hrtime.bigint();
  const vm = await boxd.machines.create({ name: 'sdk-ts-' + i });
  const result = await boxd.machines.exec(vm.id, { command: 'true' });
  const ms = Number((process.hrtime.bigint() - started) / 1000000n);
  if (result.exitCode !== 0) throw new Error('true exited ' + result.exitCode);
  console.log(ms);
  await boxd.machines.delete(vm.id);
}
boxd.close();
JS
cat > "$work/bench.py" <<'PY'
import sys, time, boxd
with boxd.Boxd(api_key=sys.argv[1], base_url=sys.argv[2], ca_cert=sys.argv[3]) as client:
    client.whoami()
    for i in range(int(sys.argv[4])):
        started = time.monotonic()
        vm = client.machines.create(name=f"sdk-py-{i}")
        result = client.machines.exec(vm.id, "true")
        ms = int((time.monotonic() - started) * 1000)
        assert result.exit_code == 0, result
        print(ms, flush=True)
        client.machines.delete(vm.id)
PY

echo "java..." >&2
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -cp "$root/bench/target/boxd-bench-0.1.0-SNAPSHOT.jar:$root/bench/target/lib/*" dev.boxd.bench.SdkBench "$url" "$key" "$work/ca.pem" "$rounds" > "$work/java.txt"
echo "typescript..." >&2
node "$work/bench.mjs" "$key" "$url" "$work/ca.pem" "$rounds" > "$work/ts.txt"
echo "python..." >&2
PYTHONPATH="$root/sdk/python/src" /usr/bin/python3 "$work/bench.py" "$key" "$url" "$work/ca.pem" "$rounds" > "$work/py.txt"

/usr/bin/python3 - "$work" <<'PY'
import statistics, sys
def p(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]
print("create -> first exec result (ms)      p50     p90     min")
for name, f in (("Java SDK", "java.txt"), ("TypeScript SDK", "ts.txt"), ("Python SDK", "py.txt")):
    xs = [int(l) for l in open(f"{sys.argv[1]}/{f}") if l.strip()]
    print(f"{name:<36} {p(xs, .5):6d}  {p(xs, .9):6d}  {min(xs):6d}")
PY
