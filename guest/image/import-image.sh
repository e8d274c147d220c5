#!/usr/bin/env bash
# Makes a boxd image of a root file system someone else built (boxd image import: a rootfs
# tarball or a docker save archive, unpacked and checked by the image store beforehand).
#
#   import-image.sh OUT_DIR ROOT AGENT_BINARY CLI_BINARY
#
# ROOT is the unpacked tree; it is finished in place with the same steps a recipe's build ends
# with (finish.sh): kernel and initramfs, user boxd with sudo (and group docker where there is
# one), the agent, the in-VM CLI, sshd settings, masked units, kernel modules, stripping, then
# rootfs.img and manifest.json into OUT_DIR. The root must bring systemd, OpenSSH's sshd and sudo:
# boxd VMs boot systemd and serve SSH. Environment: IMPORT_NAME, IMPORT_KIND, IMPORT_SHA256 (for
# the manifest), and BOXD_IMAGE_SIZE, BOXD_IMAGE_KERNEL, BOXD_IMAGE_AGENT_UNIT as for build-image.sh.
set -Eeuo pipefail
umask 022
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
TOTAL_STEPS=9
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/finish.sh"

[[ $# -eq 4 ]] || die "usage: $0 OUT_DIR ROOT AGENT_BINARY CLI_BINARY"
FILES="$HERE/files"
OUT_DIR=$(mkdir -p "$1" && cd "$1" && pwd)
ROOT=$(cd "$2" && pwd)
AGENT_BINARY=$(readlink -f "$3")
CLI_BINARY=$(readlink -f "$4")
: "${IMPORT_NAME:?IMPORT_NAME is not set}" "${IMPORT_KIND:?}" "${IMPORT_SHA256:?}"

# ---------------------------------------------------------------------------------------------
step "check the root file system and the host"
[[ $(id -u) -eq 0 ]] || die "must run as root (chroot, owners, device nodes)"
for tool in mkfs.ext4 dumpe2fs e2fsck filefrag fallocate busybox lz4 cpio chroot depmod awk; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
BUSYBOX=$(command -v busybox)
[[ -f "$AGENT_BINARY" && -s "$AGENT_BINARY" ]] || die "agent binary not found or empty: $3"
[[ -f "$CLI_BINARY" && -s "$CLI_BINARY" ]] || die "CLI binary not found or empty: $4"
# What boxd needs of the image itself (the Java side checks the same before unpacking: here for
# a root handed over some other way).
has() { local p; for p in "$@"; do [[ -e "$ROOT/$p" || -L "$ROOT/$p" ]] && return 0; done; return 1; }
has usr/lib/systemd/systemd lib/systemd/systemd \
  || die "the image has no systemd: boxd VMs boot systemd; base it on debian:12 or install systemd (and systemd-sysv)"
has sbin/init usr/sbin/init || die "the image has no /sbin/init: install systemd-sysv"
has usr/sbin/sshd sbin/sshd || die "the image has no OpenSSH server (/usr/sbin/sshd): boxd VMs serve SSH; install openssh-server"
has usr/bin/sudo || die "the image has no sudo: user boxd administers the VM through it; install sudo"
has usr/sbin/useradd sbin/useradd || die "the image has no useradd: install passwd"
# Every directory the finishing steps write in must lie inside the root once its links are
# followed: these steps run on the host, where a link to /etc would be the host's /etc.
for d in etc etc/ssh etc/sudoers.d etc/systemd etc/systemd/system etc/systemd/network etc/dpkg etc/boxd \
    usr usr/local usr/local/bin usr/lib usr/lib/modules usr/share usr/share/doc usr/share/man usr/share/info \
    usr/share/locale usr/share/lintian var var/lib var/lib/apt var/lib/apt/lists var/lib/dpkg var/lib/systemd \
    var/lib/dbus var/cache var/cache/apt var/cache/apt/archives var/cache/debconf var/log var/log/apt \
    var/tmp tmp root home; do
  [[ -e "$ROOT/$d" || -L "$ROOT/$d" ]] || continue
  real=$(readlink -f "$ROOT/$d" || true)
  [[ "$real" == "$ROOT" || "$real" == "$ROOT"/* ]] || die "/$d in the image is a link leading outside it ($(readlink "$ROOT/$d")): refusing to write through it"
done
IMPORT_OS=$( (. "$ROOT/etc/os-release" 2>/dev/null && echo "${PRETTY_NAME:-unknown}") || echo unknown)
finish_detect_kernel
finish_agent_unit
# the modules where the root's kmod looks: /lib/modules (a link to usr/lib on a merged /usr)
MODULES_DIR=usr/lib/modules
if [[ -d "$ROOT/lib" && ! -L "$ROOT/lib" ]]; then MODULES_DIR=lib/modules; fi
SEED_EXTRA=$IMPORT_SHA256
log "image $IMPORT_NAME ($IMPORT_KIND, $IMPORT_OS), kernel $KVER"
WORK=$(mktemp -d "$OUT_DIR/.build.XXXXXX")

step "extract vmlinux from /boot/vmlinuz-$KVER"
finish_kernel
step "build initramfs (busybox + virtio modules)"
finish_initramfs
step "configure: user boxd, agent, CLI, sshd, units"
finish_platform
finish_units
step "install kernel modules $KVER"
finish_modules
step "strip identity, caches and documentation"
finish_strip
step "make ext4 rootfs.img (${BOXD_IMAGE_SIZE:-100G}, sparse)"
finish_rootfs_img
step "write manifest.json and install outputs"
finish_manifest
