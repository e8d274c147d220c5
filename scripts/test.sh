#!/usr/bin/env bash
# The whole test suite, from a fresh machine: dependencies, guest image, then every module's
# tests against real QEMU VMs. Needs root (network namespaces, taps, nftables).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
./boxd image build
export JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25-jdk-amd64 2>/dev/null || ls -d /usr/lib/jvm/*25* | head -n 1)
mvn -B -ntp verify "$@"
