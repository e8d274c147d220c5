#!/usr/bin/env bash
# Packs the laptop CLI: boxd-cli.tar.gz holds bin/boxd and lib/boxd-cli/{jars,runtime}, so that
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
runtime="$root/lib/boxd-cli/runtime"
stamp="$java_home/release"
if [ ! -f "$runtime/.made-from" ] || ! cmp -s "$stamp" "$runtime/.made-from"; then
  rm -rf "$runtime"
  # jdeps cannot see reflection and service loading: the modules named beside its answer are what gRPC's
  # Netty and TLS reach that way (JUL logging, SIGWINCH and Unsafe, elliptic curves, DNS).
  modules=$("$java_home/bin/jdeps" --ignore-missing-deps --multi-release 25 --print-module-deps --class-path "$jars/*" "$cli_jar")
  modules="$modules,java.logging,jdk.unsupported,jdk.crypto.ec,java.naming,jdk.naming.dns"
  "$java_home/bin/jlink" --add-modules "$modules" --output "$runtime" --strip-debug --no-header-files --no-man-pages
  cp "$stamp" "$runtime/.made-from"
fi
tar -czf "$target/boxd-cli.tar.gz" -C "$root" bin lib
