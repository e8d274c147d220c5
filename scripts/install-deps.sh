#!/usr/bin/env bash
# Installs the Debian packages boxd needs on a host (run as root; idempotent).
set -euo pipefail
packages=(
  # VMs: QEMU, disk images, the guest kernel
  qemu-system-x86 qemu-utils linux-image-cloud-amd64
  # guest image build: rootfs, initramfs, kernel extraction, static agent
  debootstrap e2fsprogs busybox-static lz4 cpio gcc libc6-dev
  # host networking and the tools tests drive VMs with
  iproute2 nftables util-linux openssh-client openssh-server curl python3 socat rsync
  # dig, the real client the dns role is tested with
  bind9-dnsutils
  # the edge's tests: a real browser trusting the local CA through its NSS database
  chromium libnss3-tools
  # the edge's tests: an ACME test CA (pebble, with its DNS server) and openssl for its certificate
  pebble openssl
  # benchmark anchors (bench/dns.sh starts its own nsd; the package's service is turned off below)
  etcd-server hyperfine nsd dnsperf
  # the gRPC API's client test: stubs from SPEC §8 by stock protoc (api/src/test/python/lifecycle.py)
  python3-grpcio python3-grpc-tools python3-protobuf
  # the Python SDK (sdk/python): build.sh generates its code with Debian's protoc 3.21 and gRPC plugin; pytest runs its tests
  protobuf-compiler protobuf-compiler-grpc python3-pytest
  # build
  maven
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian starts nsd on port 53 of every address when it installs it: not wanted beside the host's own resolver.
  if [[ " ${missing[*]} " == *" nsd "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now nsd >/dev/null 2>&1 || true
  fi
fi
# QEMU drops to this unprivileged user once its files are open (the server creates it too if missing).
if ! getent passwd boxd-qemu >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --comment "boxd QEMU processes" boxd-qemu
fi
if ! ls -d /usr/lib/jvm/*25* >/dev/null 2>&1; then
  echo "JDK 25 is required (Temurin 25 under /usr/lib/jvm)" >&2
  exit 1
fi
# The TypeScript SDK's packages (pinned by its package-lock.json); again only when the lock changed.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js 20 or newer with npm is required for sdk/typescript (Debian 12's nodejs is 18: use NodeSource's)" >&2
  exit 1
fi
sdk_ts="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/sdk/typescript"
lock_sum="$(sha256sum "$sdk_ts/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$sdk_ts/node_modules/.boxd-lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
  echo "installing: sdk/typescript npm packages"
  (cd "$sdk_ts" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > "$sdk_ts/node_modules/.boxd-lock.sha256"
fi
