#!/usr/bin/env bash
# boxd guest image builder.
#
#   build-image.sh OUT_DIR AGENT_BINARY CLI_BINARY
#
# Builds into OUT_DIR:
#   vmlinux        uncompressed PVH ELF kernel, extracted from the Debian cloud kernel's bzImage
#   initrd.img     busybox initramfs: loads the virtio modules, mounts /dev/vda, switch_root
#   rootfs.img     sparse ext4 image (default 100 GiB apparent size) with Debian bookworm
#   manifest.json  kernel version, agent and CLI sha256, packages with versions, sizes
#
# AGENT_BINARY (guest/agent/build.sh) becomes /usr/local/bin/boxd-agent, CLI_BINARY
# (guest/cli/build.sh) the in-VM command line /usr/local/bin/boxd.
#
# A recipe (recipes/NAME, BOXD_IMAGE_RECIPE) adds to the base below: `packages` (Debian packages,
# installed with apt after the base), `rootfs/` (files copied over the root) and `configure` (a
# script run inside the root once user boxd exists). `full` is the default image; `small` is the
# base alone, for tests that only need a Linux that boots.
#
# Needs root and these Debian 12 packages on the build host:
#   debootstrap e2fsprogs busybox-static linux-image-cloud-amd64 lz4 cpio
#   (plus coreutils, util-linux, findutils, grep, sed, gawk|mawk, apt — always present)
#   and network access to the Debian mirror that apt is configured with.
#
# Environment (all optional):
#   BOXD_IMAGE_SIZE       apparent size of rootfs.img (default 100G, as understood by mkfs.ext4)
#   BOXD_IMAGE_KERNEL     kernel version to use (default: newest *-cloud-amd64 in /boot)
#   BOXD_IMAGE_MIRROR     Debian mirror URL (default: the bookworm/main source apt is configured with)
#   BOXD_IMAGE_CACHE      directory for downloaded .deb files, debootstrap's and apt's (default
#                         OUT_DIR/.debcache; "none" = off)
#   BOXD_IMAGE_RECIPE     recipes/NAME to build (default full)
#   BOXD_IMAGE_AGENT_UNIT systemd unit for the agent (default: guest/agent/boxd-agent.service if it
#                         exists, else guest/image/files/boxd-agent.service)
#
# Idempotent: every run builds from scratch in a temporary directory inside OUT_DIR and only then
# replaces the outputs. On failure it names the failed step, unmounts and removes what it made.
set -Eeuo pipefail
umask 022
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

SUITE=bookworm
TOTAL_STEPS=11
# Packages on top of debootstrap's minbase variant (Priority: required), in every image. bash,
# tar and rsync with git: what tools that drive VMs over SSH check for (crabbox syncs with rsync).
# python3-grpcio and python3-protobuf: the Python SDK runs in the VM with no key (sdk/python).
PACKAGES=(
  systemd systemd-sysv udev kmod
  openssh-server sudo curl git rsync python3 python3-grpcio python3-protobuf ca-certificates
  iproute2 iputils-ping procps netcat-openbsd less
)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shared with import-image.sh: the finishing steps, step/die/log, cleanup of WORK
source "$HERE/finish.sh"


[[ $# -eq 3 ]] || die "usage: $0 OUT_DIR AGENT_BINARY CLI_BINARY"
FILES="$HERE/files"
OUT_DIR=$(mkdir -p "$1" && cd "$1" && pwd)
AGENT_BINARY=$(readlink -f "$2")
CLI_BINARY=$(readlink -f "$3")
RECIPE=${BOXD_IMAGE_RECIPE:-full}
RECIPE_DIR="$HERE/recipes/$RECIPE"

# ---------------------------------------------------------------------------------------------
step "check host, inputs and mirror"
[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, device nodes)"
for tool in debootstrap mkfs.ext4 dumpe2fs e2fsck filefrag fallocate flock busybox lz4 cpio chroot apt-get dpkg-query awk; do
  command -v "$tool" >/dev/null || die "missing tool: $tool (see the package list at the top of $0)"
done
BUSYBOX=$(command -v busybox)
# a dynamic executable names its loader; the initramfs has no libraries
if LC_ALL=C grep -qa '/ld-linux' "$BUSYBOX"; then die "$BUSYBOX is not static: install busybox-static"; fi
[[ -f "$AGENT_BINARY" && -s "$AGENT_BINARY" ]] || die "agent binary not found or empty: $2"
[[ -f "$CLI_BINARY" && -s "$CLI_BINARY" ]] || die "CLI binary not found or empty: $3"
[[ "$RECIPE" =~ ^[a-z0-9-]+$ && -f "$RECIPE_DIR/packages" ]] \
  || die "unknown recipe '$RECIPE' (BOXD_IMAGE_RECIPE): no $RECIPE_DIR/packages; recipes: $(ls "$HERE/recipes" | tr '\n' ' ')"
# package names, comments and blank lines dropped
mapfile -t RECIPE_PACKAGES < <(sed 's/#.*//' "$RECIPE_DIR/packages" | tr -s ' \t' '\n' | sed '/^$/d')
for p in "${RECIPE_PACKAGES[@]}"; do
  [[ "$p" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "recipe $RECIPE: '$p' in $RECIPE_DIR/packages is not a Debian package name"
done

finish_detect_kernel

# The Debian mirror: the one apt on this host uses for $SUITE/main (works for both sources.list
# and deb822 .sources files, and for whatever host name the machine is configured with).
apt_sources() {  # prints "REPO_URI RELEASE" lines for every configured amd64 main source
  apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
    'Identifier: Packages' 'Component: main' 'Architecture: amd64' 2>/dev/null | sort -u
}
MIRROR=${BOXD_IMAGE_MIRROR:-$(apt_sources | awk -v s="$SUITE" '$2 == s { print $1; exit }')}
[[ -n "$MIRROR" ]] || die "no '$SUITE main' source in the apt configuration; set BOXD_IMAGE_MIRROR"
MIRROR=${MIRROR%/}
UPDATES_MIRROR=$(apt_sources | awk -v s="$SUITE-updates" '$2 == s { print $1; exit }')
SECURITY_MIRROR=$(apt_sources | awk -v s="$SUITE-security" '$2 == s { print $1; exit }')
# apt's proxy, if any, for debootstrap's downloads too
eval "$(apt-config shell APT_HTTP_PROXY Acquire::http::Proxy)"
if [[ -n "${APT_HTTP_PROXY:-}" && -z "${http_proxy:-}" ]]; then export http_proxy=$APT_HTTP_PROXY; fi
log "kernel $KVER ($KPKG $KPKG_VERSION), mirror $MIRROR"
log "updates ${UPDATES_MIRROR:-none}, security ${SECURITY_MIRROR:-none}"
log "recipe $RECIPE: ${#RECIPE_PACKAGES[@]} packages on top of the base"
log "agent $AGENT_BINARY"
log "cli $CLI_BINARY"

finish_agent_unit

CACHE=${BOXD_IMAGE_CACHE:-$OUT_DIR/.debcache}
DEBOOTSTRAP_CACHE=()
if [[ "$CACHE" != none ]]; then mkdir -p "$CACHE"; DEBOOTSTRAP_CACHE=(--cache-dir="$(cd "$CACHE" && pwd)"); fi

# one build per OUT_DIR at a time
exec 9>"$OUT_DIR/.build.lock"
flock -n 9 || die "another build is running in $OUT_DIR"
# leftovers of an interrupted earlier run
for old in "$OUT_DIR"/.build.*; do
  [[ -d "$old" ]] || continue
  if awk -v w="$old/" 'index($2, w) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
    die "$old still has mounts below it; unmount them first"
  fi
  rm -rf --one-file-system "$old"
done
WORK=$(mktemp -d "$OUT_DIR/.build.XXXXXX")
ROOT="$WORK/root"

# ---------------------------------------------------------------------------------------------
step "extract vmlinux from /boot/vmlinuz-$KVER"
finish_kernel

# ---------------------------------------------------------------------------------------------
step "build initramfs (busybox + virtio modules)"
finish_initramfs

# ---------------------------------------------------------------------------------------------
step "debootstrap $SUITE (minbase + ${#PACKAGES[@]} packages)"
INCLUDE=$(IFS=,; echo "${PACKAGES[*]}")
if ! debootstrap --variant=minbase --include="$INCLUDE" "${DEBOOTSTRAP_CACHE[@]}" \
    "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  [[ -f "$ROOT/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi
log "$(in_root dpkg-query -W -f '.\n' | wc -l) packages installed"

# ---------------------------------------------------------------------------------------------
step "apply $SUITE-updates and $SUITE-security"
{
  echo "deb $MIRROR $SUITE main"
  [[ -n "$UPDATES_MIRROR" ]] && echo "deb ${UPDATES_MIRROR%/} $SUITE-updates main"
  [[ -n "$SECURITY_MIRROR" ]] && echo "deb ${SECURITY_MIRROR%/} $SUITE-security main"
  true
} >"$ROOT/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"   # start no services in the chroot
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
# what apt installs from here on comes without documentation, as the strip step leaves the rest
install -m 0644 "$FILES/rootfs/etc/dpkg/dpkg.cfg.d/boxd-nodoc" "$ROOT/etc/dpkg/dpkg.cfg.d/boxd-nodoc"
mount -t proc proc "$ROOT/proc"
# apt's downloads are kept with debootstrap's: a rebuild fetches only what changed
if [[ "$CACHE" != none ]]; then
  mkdir -p "$CACHE/apt/partial"
  mount --bind "$CACHE/apt" "$ROOT/var/cache/apt/archives"
fi
# root, not _apt, downloads: the bind-mounted cache belongs to root. No fsync per unpacked file
# (force-unsafe-io): this tree becomes an image, it is never booted from this disk.
APT_GET=(apt-get -y -q -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io
  -o APT::Sandbox::User=root --no-install-recommends)
in_root apt-get -qq -o APT::Sandbox::User=root update >"$WORK/apt.log" 2>&1 || { tail -n 30 "$WORK/apt.log" >&2; die "apt-get update failed"; }
in_root "${APT_GET[@]}" upgrade >>"$WORK/apt.log" 2>&1 || { tail -n 30 "$WORK/apt.log" >&2; die "apt-get upgrade failed"; }
log "$(grep -c '^Unpacking' "$WORK/apt.log" || true) packages upgraded"

# ---------------------------------------------------------------------------------------------
step "install the $RECIPE recipe's packages"
if (( ${#RECIPE_PACKAGES[@]} > 0 )); then
  in_root "${APT_GET[@]}" install "${RECIPE_PACKAGES[@]}" >"$WORK/apt-recipe.log" 2>&1 \
    || { tail -n 30 "$WORK/apt-recipe.log" >&2; die "apt-get install of the $RECIPE recipe's packages failed"; }
  log "$(grep -c '^Unpacking' "$WORK/apt-recipe.log" || true) packages installed for ${#RECIPE_PACKAGES[@]} named"
else
  log "none"
fi
# versions no longer on the mirror leave the cache; the image keeps no .deb
in_root apt-get -qq -o APT::Sandbox::User=root autoclean
if [[ "$CACHE" != none ]]; then umount "$ROOT/var/cache/apt/archives"; fi
in_root apt-get -qq clean
umount "$ROOT/proc"
rm -f "$ROOT/usr/sbin/policy-rc.d"

# ---------------------------------------------------------------------------------------------
step "configure: user boxd, agent, CLI, sshd, units"
finish_platform
# the recipe's own files and settings, over the platform's
if [[ -d "$RECIPE_DIR/rootfs" ]]; then cp -r --no-preserve=ownership "$RECIPE_DIR/rootfs/." "$ROOT/"; fi
if [[ -f "$RECIPE_DIR/configure" ]]; then
  install -m 0755 "$RECIPE_DIR/configure" "$ROOT/tmp/boxd-recipe-configure"
  in_root /tmp/boxd-recipe-configure || die "recipe $RECIPE: $RECIPE_DIR/configure failed"
  rm -f "$ROOT/tmp/boxd-recipe-configure"
fi
finish_units

# ---------------------------------------------------------------------------------------------
step "install kernel modules $KVER"
finish_modules

# ---------------------------------------------------------------------------------------------
step "strip identity, caches and documentation"
finish_strip

# ---------------------------------------------------------------------------------------------
step "make ext4 rootfs.img (${BOXD_IMAGE_SIZE:-100G}, sparse)"
finish_rootfs_img

# ---------------------------------------------------------------------------------------------
step "write manifest.json and install outputs"
finish_manifest
