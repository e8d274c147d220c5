#!/bin/sh
# Builds the static guest agent: build.sh OUT_PATH
# Needs only gcc and libc6-dev (Debian 12); the result runs on any x86-64 Linux guest.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_PATH" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
exec gcc -static -O2 -Wall -Wextra -o "$1" "$here"/*.c
