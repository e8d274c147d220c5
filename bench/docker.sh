#!/usr/bin/env bash
# Docker and image benchmark (a report, no target), under whatever accelerator the host has:
#  1. new -> exec-ready, side by side for the default image (full) and `new --image=small`
#     (the small recipe, named as a recipe), N runs each, with no warm pool (it only ever holds
#     the default image, so it would favour full);
#  2. in a VM of full: new -> dockerd ready (`docker info` succeeds: socket activation starts
#     dockerd and containerd), then `docker build` and the first and second `docker run` of a
#     FROM scratch image around a static binary (no registry needed);
#  3. the two images' size on disk and their manifests' package counts (build times: the image
#     README's, since a build with an empty cache is minutes).
# Usage (root, after `./boxd image build` and `./boxd image build --recipe=small`): bench/docker.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
source "$root/bench/lib/server.sh"
extra_server_args=(--warm-pool 0 --egress-net 169.254.201.0/30 --vm-ssh-port 2295)
start_server 2294 bxbenchdk 10.251.0.0/24 7794
boxd_ssh() { ssh "${opts[@]}" -p 2294 127.0.0.1 "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%d", v[int((NR + 1) / 2)] }'; }

echo "new -> exec-ready (new returns running, then the first exec), $runs runs each, no warm pool:"
for image in full small; do
  flag=(); [[ $image == small ]] && flag=(--image=small)
  boxd_ssh new --name=warmup-$image "${flag[@]}" >/dev/null   # the golden of the image, made once
  boxd_ssh destroy -y warmup-$image >/dev/null
  times=()
  for i in $(seq 1 "$runs"); do
    s=$(date +%s%N)
    boxd_ssh new --name=t-$image-$i "${flag[@]}" >/dev/null
    boxd_ssh exec t-$image-$i -- true
    times+=("$(ms_since "$s")")
    boxd_ssh destroy -y t-$image-$i >/dev/null
  done
  printf '  %-6s median %6d ms   (runs: %s)\n' "$image" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
done

echo
echo "Docker in a VM of full:"
s=$(date +%s%N)
boxd_ssh new --name=dock >/dev/null
boxd_ssh exec dock -- true
echo "  new -> exec-ready:              $(ms_since "$s") ms"
boxd_ssh exec dock -- 'timeout 120 sh -c "until docker info >/dev/null 2>&1; do sleep 0.1; done"'
echo "  new -> docker info succeeds:    $(ms_since "$s") ms"
boxd_ssh exec dock -- 'mkdir -p hello && cd hello && printf "#include <stdio.h>\nint main(void) { puts(\"hello from a container\"); return 0; }\n" > hello.c && gcc -static -O2 -o hello hello.c && printf "FROM scratch\nCOPY hello /hello\nCMD [\"/hello\"]\n" > Dockerfile'
s=$(date +%s%N)
boxd_ssh exec dock -- 'cd hello && docker build -q -t hello . >/dev/null'
echo "  docker build (FROM scratch):    $(ms_since "$s") ms"
for n in first second; do
  s=$(date +%s%N)
  out=$(boxd_ssh exec dock -- 'docker run --rm hello')
  [[ "$out" == "hello from a container" ]] || { echo "unexpected output: $out" >&2; exit 1; }
  echo "  docker run --rm hello, $n:   $(ms_since "$s") ms"
done
boxd_ssh destroy -y dock >/dev/null

echo
echo "images (on disk; build times with an empty .deb cache from guest/image/README.md):"
declare -A seen=()
for image in $(ls "$work/data/images"); do
  dir=$(readlink -f "$work/data/images/$image")
  [[ -f "$dir/manifest.json" && -z "${seen[$dir]:-}" ]] || continue
  seen[$dir]=1
  recipe=$(grep -o '"recipe": "[a-z-]*"' "$dir/manifest.json" | cut -d'"' -f4)
  [[ -n "$recipe" ]] || continue
  pkgs=$(grep -c '{"name": ' "$dir/manifest.json")
  printf '  %-6s %s  rootfs.img %s on disk, %s packages\n' "$recipe" "${image:0:12}" "$(du -h "$dir/rootfs.img" | cut -f1)" "$pkgs"
done
echo "  build, empty .deb cache: small 138-151 s, full 405-412 s (README, this machine)"
