#!/usr/bin/env bash
# Packs the laptop CLI: boxd-cli.tar.gz holds bin/boxd and lib/boxd-cli/{jars,runtime,boxd-client}, so that
#   tar -xzf boxd-cli.tar.gz -C ~/.local
# installs it on a machine with nothing else (the runtime is a jlink image of the building JDK,
# holding only the modules the jars use).
set -euo pipefail
target=$1            # the module's target directory
jars=$2              # directory with the CLI's dependencies
cli_jar=$3           # the CLI's own jar
here=$(cd "$(dirname "$0")" && pwd)
java_home=${JAVA_HOME:?JAVA_HOME must name the JDK to take the runtime from}
root="$target/dist"
rm -rf "$root/bin" "$root/lib/boxd-cli/jars"
mkdir -p "$root/bin" "$root/lib/boxd-cli"
cp -r "$jars" "$root/lib/boxd-cli/jars"
cp "$cli_jar" "$root/lib/boxd-cli/jars/"
install -m 0755 "$here/boxd" "$root/bin/boxd"
# The thin client of the resident process: the in-VM CLI's static program (needs gcc and libc6-dev).
"$here/../../../guest/cli/build.sh" "$root/lib/boxd-cli/boxd-client"
# What the resident process checks it still runs: a new package is a new resident.
cat "$root/lib/boxd-cli/jars/"* "$root/lib/boxd-cli/boxd-client" | sha256sum | cut -c1-16 > "$root/lib/boxd-cli/build-id"
runtime="$root/lib/boxd-cli/runtime"
# jdeps cannot see reflection and service loading: the modules named beside its answer are what gRPC's
# Netty and TLS reach that way (JUL logging, SIGWINCH and Unsafe, elliptic curves, DNS).
modules=$("$java_home/bin/jdeps" --ignore-missing-deps --multi-release 25 --print-module-deps --class-path "$jars/*" "$cli_jar")
modules="$modules,java.logging,jdk.unsupported,jdk.crypto.ec,java.naming,jdk.naming.dns"
# Made again when the JDK or the modules the jars need change (a class that starts using jdk.net, say).
stamp=$(cat "$java_home/release"; echo "modules=$modules")
if [ ! -f "$runtime/.made-from" ] || [ "$(cat "$runtime/.made-from")" != "$stamp" ]; then
  rm -rf "$runtime"
  # --generate-cds-archive: the runtime's base class-data archive, which the launcher's dynamic one builds on
  "$java_home/bin/jlink" --add-modules "$modules" --output "$runtime" --strip-debug --no-header-files --no-man-pages \
    --generate-cds-archive
  printf '%s\n' "$stamp" > "$runtime/.made-from"
fi
# Class data for the launcher: what one call loads (the verbs, gRPC, Netty, TLS, protobuf), dumped
# by a training call that fails to connect (no server is needed for that) and mapped by every call
# after. The JVM checks it against the runtime and the jars and ignores it if they differ, and it
# holds when the package is unpacked elsewhere (the jars are found by name, size and time).
rm -f "$root/lib/boxd-cli/boxd-cli.jsa"
BOXD_CDS_DUMP="$root/lib/boxd-cli/boxd-cli.jsa" "$root/bin/boxd" list --api-url https://127.0.0.1:1 --token training >/dev/null 2>&1 || true
[ -s "$root/lib/boxd-cli/boxd-cli.jsa" ] || { echo "package.sh: the class data archive was not written" >&2; exit 1; }
tar -czf "$target/boxd-cli.tar.gz" -C "$root" bin lib
