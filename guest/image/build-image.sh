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
PACKAGES=(
  systemd systemd-sysv udev kmod
  openssh-server sudo curl git rsync python3 ca-certificates
  iproute2 iputils-ping procps netcat-openbsd less
)
# Modules the initramfs loads (with their dependencies). ext4, jbd2, crc32c, unix, packet,
# the 8250 serial console and ACPI are built into the cloud kernel; virtio is not.
INITRAMFS_MODULES=(virtio_mmio virtio_blk virtio_net virtio_console virtio-rng)
# Units that are useless in a microVM or that slow its boot.
MASK_UNITS=(
  apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
  dpkg-db-backup.timer dpkg-db-backup.service
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
  fstrim.timer fstrim.service man-db.timer man-db.service
  systemd-networkd-wait-online.service systemd-time-wait-sync.service
  systemd-firstboot.service systemd-pstore.service systemd-repart.service
  getty@tty1.service serial-getty@ttyS0.service getty-static.service
  # API file systems, modules and bookkeeping a microVM does not need at boot
  dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount
  sys-fs-fuse-connections.mount modprobe@drm.service modprobe@configfs.service
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
  systemd-sysusers.service systemd-journal-flush.service systemd-machine-id-commit.service
  systemd-update-utmp.service systemd-update-utmp-runlevel.service
  # the initramfs mounts / with the options of /etc/fstab already
  systemd-remount-fs.service
  # no D-Bus (nothing here needs it) and so no logind: -2.5 s of boot under TCG. Without logind
  # the ACPI power button is ignored: stop a VM with "systemctl poweroff" through the agent.
  systemd-logind.service
)

STEP=0
STEP_NAME="start"
WORK=""
T0=$SECONDS

step() {
  STEP=$((STEP + 1))
  STEP_NAME="$1"
  printf '[step %d/%d] %s (t=%ds)\n' "$STEP" "$TOTAL_STEPS" "$STEP_NAME" "$((SECONDS - T0))"
}
die() {
  printf 'build-image: FAILED in [step %d/%d] %s: %s\n' "$STEP" "$TOTAL_STEPS" "$STEP_NAME" "$*" >&2
  exit 1
}
log() { printf '    %s\n' "$*"; }

on_error() {
  local rc=$? line=$1 cmd=$2
  printf 'build-image: FAILED in [step %d/%d] %s: exit %d at line %s: %s\n' \
    "$STEP" "$TOTAL_STEPS" "$STEP_NAME" "$rc" "$line" "$cmd" >&2
}
cleanup() {
  local rc=$?
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    # unmount anything left below the work directory, deepest first
    local m
    while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done < <(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
    if awk -v w="$WORK/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
      printf 'build-image: cannot unmount everything below %s; not removing it\n' "$WORK" >&2
    else
      rm -rf --one-file-system "$WORK"
    fi
  fi
  exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
trap cleanup EXIT
# (bash runs this once the running command has ended)
trap 'printf "build-image: interrupted in [step %d/%d] %s\n" "$STEP" "$TOTAL_STEPS" "$STEP_NAME" >&2; exit 130' INT TERM

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive HOME=/root "$@"; }

[[ $# -eq 3 ]] || die "usage: $0 OUT_DIR AGENT_BINARY CLI_BINARY"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
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

if [[ -n "${BOXD_IMAGE_KERNEL:-}" ]]; then
  KVER=$BOXD_IMAGE_KERNEL
else
  KVER=$(ls /boot | sed -n 's/^vmlinuz-\(.*-cloud-amd64\)$/\1/p' | sort -V | tail -n 1)
fi
[[ -n "$KVER" && -f "/boot/vmlinuz-$KVER" ]] || die "no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64"
[[ -f "/lib/modules/$KVER/modules.dep" ]] || die "no /lib/modules/$KVER/modules.dep"
KPKG=$(dpkg-query -S "/boot/vmlinuz-$KVER" 2>/dev/null | cut -d: -f1 || true)
KPKG_VERSION=$( [[ -n "$KPKG" ]] && dpkg-query -W -f '${Version}' "$KPKG" || echo unknown)

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

AGENT_UNIT=${BOXD_IMAGE_AGENT_UNIT:-}
if [[ -z "$AGENT_UNIT" ]]; then
  if [[ -f "$HERE/../agent/boxd-agent.service" ]]; then AGENT_UNIT="$HERE/../agent/boxd-agent.service"
  else AGENT_UNIT="$FILES/boxd-agent.service"; fi
fi
[[ -f "$AGENT_UNIT" ]] || die "agent unit not found: $AGENT_UNIT"
log "agent unit $AGENT_UNIT"

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
# The bzImage carries the kernel as an LZ4 (legacy frame, magic 02 21 4c 18) compressed ELF.
# Try every occurrence of the magic; the right one decompresses to an ELF with a PVH entry note.
BZ="/boot/vmlinuz-$KVER"
found=""
while read -r off; do
  rm -f "$WORK/vmlinux"
  # lz4 exits non-zero on the trailing bytes after the payload; the ELF check below decides.
  tail -c "+$((off + 1))" "$BZ" | lz4 -dc >"$WORK/vmlinux" 2>/dev/null || true
  if [[ -s "$WORK/vmlinux" && $(head -c 4 "$WORK/vmlinux" | od -A n -t x1 | tr -d ' ') == 7f454c46 ]]; then
    found=$off; break
  fi
done < <(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$BZ" | cut -d: -f1)
[[ -n "$found" ]] || die "no LZ4-compressed ELF found in $BZ (is it CONFIG_KERNEL_LZ4?)"
# PVH entry point: ELF note "Xen" type 18 (XEN_ELFNOTE_PHYS32_ENTRY). Without it QEMU cannot
# boot the ELF directly. Search the raw bytes: namesz=4 descsz=8 type=18 "Xen\0".
LC_ALL=C grep -qaP '\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00' "$WORK/vmlinux" \
  || die "extracted vmlinux has no PVH entry note (CONFIG_PVH)"
log "payload at offset $found, vmlinux $(stat -c %s "$WORK/vmlinux") bytes"

# ---------------------------------------------------------------------------------------------
step "build initramfs (busybox + virtio modules)"
IR="$WORK/initramfs"
mkdir -p "$IR"/{bin,dev,proc,sys,newroot,etc,lib/modules}
cp "$BUSYBOX" "$IR/bin/busybox"
for applet in $("$IR/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$IR/bin/$applet"
done
mknod -m 600 "$IR/dev/console" c 5 1
mknod -m 666 "$IR/dev/null" c 1 3
install -m 0755 "$FILES/initramfs/init" "$IR/init"
# resolve dependencies from modules.dep; dependencies first, each module once
declare -A MOD_SEEN=()
MOD_ORDER=()
mod_path() {  # module name (- or _) -> path relative to /lib/modules/$KVER
  local n=${1//[-_]/@}; n=${n//@/[-_]}
  awk -F: -v re="/${n}\\\\.ko(\\\\.[a-z]+)?$" '$1 ~ re { print $1; exit }' "/lib/modules/$KVER/modules.dep"
}
add_mod() {
  local path=$1 dep
  [[ -n "${MOD_SEEN[$path]:-}" ]] && return 0
  MOD_SEEN[$path]=1
  for dep in $(awk -F: -v p="$path" '$1 == p { print $2; exit }' "/lib/modules/$KVER/modules.dep"); do
    add_mod "$dep"
  done
  MOD_ORDER+=("$path")
}
for m in "${INITRAMFS_MODULES[@]}"; do
  p=$(mod_path "$m")
  if [[ -z "$p" ]]; then
    grep -q "/${m//-/_}.ko" "/lib/modules/$KVER/modules.builtin" \
      || die "module $m is neither a module nor built into $KVER"
    log "$m is built in"
    continue
  fi
  add_mod "$p"
done
: >"$IR/etc/modules.order"
for p in "${MOD_ORDER[@]}"; do
  [[ "$p" == *.ko ]] || die "compressed module $p: unsupported by busybox insmod here"
  cp "/lib/modules/$KVER/$p" "$IR/lib/modules/"
  basename "$p" >>"$IR/etc/modules.order"
done
log "modules: $(tr '\n' ' ' <"$IR/etc/modules.order")"
(cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) >"$WORK/initrd.img"
log "initrd.img $(stat -c %s "$WORK/initrd.img") bytes (uncompressed cpio: nothing to inflate at boot)"

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
cp -r --no-preserve=ownership "$FILES/rootfs/." "$ROOT/"
chmod 0440 "$ROOT/etc/sudoers.d/boxd"
mkdir -p "$ROOT/etc/boxd"
in_root visudo -c -q -f /etc/sudoers.d/boxd
in_root groupadd -g 1000 boxd
in_root useradd -u 1000 -g 1000 -m -d /home/boxd -s /bin/bash -c boxd boxd
in_root usermod -p '*' boxd           # no password; not "locked", so sshd accepts keys for it
# agent
install -m 0755 "$AGENT_BINARY" "$ROOT/usr/local/bin/boxd-agent"
install -m 0644 "$AGENT_UNIT" "$ROOT/etc/systemd/system/boxd-agent.service"
if grep -q '^\[Install\]' "$ROOT/etc/systemd/system/boxd-agent.service"; then
  in_root systemctl enable boxd-agent.service >/dev/null 2>&1
fi
in_root systemctl enable boxd-agent.path boxd-sshd-hostkey.path >/dev/null 2>&1
# the in-VM command line (docs/gateway-protocol.md)
install -m 0755 "$CLI_BINARY" "$ROOT/usr/local/bin/boxd"
in_root systemctl set-default multi-user.target >/dev/null 2>&1
# the recipe's own files and settings, over the platform's
if [[ -d "$RECIPE_DIR/rootfs" ]]; then cp -r --no-preserve=ownership "$RECIPE_DIR/rootfs/." "$ROOT/"; fi
if [[ -f "$RECIPE_DIR/configure" ]]; then
  install -m 0755 "$RECIPE_DIR/configure" "$ROOT/tmp/boxd-recipe-configure"
  in_root /tmp/boxd-recipe-configure || die "recipe $RECIPE: $RECIPE_DIR/configure failed"
  rm -f "$ROOT/tmp/boxd-recipe-configure"
fi
for u in "${MASK_UNITS[@]}"; do in_root systemctl mask "$u" >/dev/null 2>&1; done
# generators for things a microVM with a plain /dev/vda never has (each one is a process at boot)
mkdir -p "$ROOT/etc/systemd/system-generators"
for g in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup system-update; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system-generators/systemd-$g-generator"
done
# classic interface names (eth0): the agent configures eth0
ln -sfn /dev/null "$ROOT/etc/systemd/network/99-default.link"
# no stale resolver from the build host; the agent writes the VM's DNS server
: >"$ROOT/etc/resolv.conf"

# ---------------------------------------------------------------------------------------------
step "install kernel modules $KVER"
mkdir -p "$ROOT/usr/lib/modules"
cp -a "/lib/modules/$KVER" "$ROOT/usr/lib/modules/"
rm -f "$ROOT/usr/lib/modules/$KVER/build" "$ROOT/usr/lib/modules/$KVER/source"
in_root depmod -a "$KVER"
log "$(find "$ROOT/usr/lib/modules/$KVER" -name '*.ko*' | wc -l) modules, $(du -sh "$ROOT/usr/lib/modules/$KVER" | cut -f1)"

# ---------------------------------------------------------------------------------------------
step "strip identity, caches and documentation"
rm -f "$ROOT"/etc/ssh/ssh_host_*                      # per-VM keys come from the agent
: >"$ROOT/etc/machine-id"                             # empty: not "first boot", set per VM
chmod 0444 "$ROOT/etc/machine-id"
if [[ -d "$ROOT/var/lib/dbus" ]]; then
  rm -f "$ROOT/var/lib/dbus/machine-id"
  ln -s /etc/machine-id "$ROOT/var/lib/dbus/machine-id"
fi
rm -f "$ROOT/var/lib/systemd/random-seed" "$ROOT/var/lib/systemd/credential.secret"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
  "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old "$ROOT"/var/log/*.log \
  "$ROOT"/var/log/apt/* "$ROOT"/debootstrap "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/root/.bash_history
find "$ROOT/var/cache" -name '*.bin' -delete
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian/*
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
log "root tree $(du -sh --apparent-size "$ROOT" | cut -f1)"

# ---------------------------------------------------------------------------------------------
SIZE=${BOXD_IMAGE_SIZE:-100G}
step "make ext4 rootfs.img ($SIZE, sparse)"
# Package list first: it also seeds the file system UUID so the same content gives the same UUID.
in_root dpkg-query -W -f '${Package}\t${Version}\n' | LC_ALL=C sort >"$WORK/packages.tsv"
SEED=$(cat "$WORK/packages.tsv" <(echo "$KVER $SIZE") | sha256sum | cut -c1-64)
FS_UUID="${SEED:0:8}-${SEED:8:4}-4${SEED:13:3}-8${SEED:17:3}-${SEED:20:12}"
HASH_SEED="${SEED:32:8}-${SEED:40:4}-4${SEED:45:3}-8${SEED:49:3}-${SEED:52:12}"
# lazy_itable_init=0 marks every inode table ITABLE_ZEROED, so the guest kernel's ext4lazyinit
# thread has nothing to write into the VM's overlay. Zeroing is free here: mke2fs first discards
# (punches) the pre-sized file and then trusts it to read as zeros. lazy_journal_init=1 and a
# 64 MiB journal: the journal stays a hole until the guest writes to it.
truncate -s 0 "$WORK/rootfs.img"
truncate -s "$SIZE" "$WORK/rootfs.img"
mkfs.ext4 -q -F -t ext4 -L boxd-root -U "$FS_UUID" -m 1 -J size=64 \
  -E "discard,lazy_itable_init=0,lazy_journal_init=1,root_owner=0:0,hash_seed=$HASH_SEED" \
  -d "$ROOT" "$WORK/rootfs.img"
# Where mke2fs had to zero with fallocate(ZERO_RANGE) the zeros are allocated "unwritten"
# extents: punch them (they read as zeros either way) so the image stays sparse.
filefrag -v "$WORK/rootfs.img" | awk '
  /blocks of [0-9]+ bytes/ { for (i = 1; i <= NF; i++) if ($i == "blocks" && $(i + 1) == "of") print "bs", $(i + 2) }
  /^ *[0-9]+:.*unwritten/ {
    line = $0; gsub(/\.\./, " ", line); gsub(/:/, " ", line); split(line, f, " ")
    s = f[2] + 0; e = f[3] + 0
    if (n && s == ce + 1) { ce = e } else { if (n) print cs, ce - cs + 1; cs = s; ce = e; n = 1 }
  }
  END { if (n) print cs, ce - cs + 1 }' >"$WORK/unwritten.txt"
bs=4096
while read -r start len; do
  if [[ "$start" == bs ]]; then bs=$len; continue; fi
  fallocate --punch-hole --offset $((start * bs)) --length $((len * bs)) "$WORK/rootfs.img"
done <"$WORK/unwritten.txt"
e2fsck -f -n "$WORK/rootfs.img" >"$WORK/fsck.log" 2>&1 || { cat "$WORK/fsck.log" >&2; die "e2fsck found errors in the new image"; }
not_zeroed=$(dumpe2fs "$WORK/rootfs.img" 2>/dev/null | grep -E '^Group [0-9]+:' | grep -vc ITABLE_ZEROED || true)
[[ "$not_zeroed" -eq 0 ]] || die "$not_zeroed block groups lack ITABLE_ZEROED: the guest would initialise them into its overlay"
log "rootfs.img apparent $(du -h --apparent-size "$WORK/rootfs.img" | cut -f1), on disk $(du -h "$WORK/rootfs.img" | cut -f1)"

# ---------------------------------------------------------------------------------------------
step "write manifest.json and install outputs"
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
{
  printf '{\n'
  printf '  "format": 1,\n'
  printf '  "built": %s,\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "suite": %s,\n' "$(json_str "$SUITE")"
  printf '  "recipe": %s,\n' "$(json_str "$RECIPE")"
  printf '  "mirror": %s,\n' "$(json_str "$MIRROR")"
  printf '  "kernel": {"version": %s, "package": %s, "package_version": %s},\n' \
    "$(json_str "$KVER")" "$(json_str "${KPKG:-unknown}")" "$(json_str "$KPKG_VERSION")"
  printf '  "agent": {"sha256": %s, "unit": %s},\n' \
    "$(json_str "$(sha256sum "$AGENT_BINARY" | cut -d' ' -f1)")" "$(json_str "$(basename "$(dirname "$AGENT_UNIT")")/$(basename "$AGENT_UNIT")")"
  printf '  "cli": {"sha256": %s, "path": "/usr/local/bin/boxd"},\n' \
    "$(json_str "$(sha256sum "$CLI_BINARY" | cut -d' ' -f1)")"
  printf '  "initramfs_modules": ['
  sep=""; while read -r ko; do printf '%s%s' "$sep" "$(json_str "$ko")"; sep=", "; done <"$IR/etc/modules.order"
  printf '],\n'
  printf '  "rootfs": {"fs_uuid": %s, "apparent_bytes": %s, "allocated_bytes": %s, "files_bytes": %s},\n' \
    "$(json_str "$FS_UUID")" "$(stat -c %s "$WORK/rootfs.img")" \
    "$(( $(stat -c %b "$WORK/rootfs.img") * $(stat -c %B "$WORK/rootfs.img") ))" \
    "$(du -sb "$ROOT" | cut -f1)"
  printf '  "files": {\n'
  for f in vmlinux initrd.img rootfs.img; do
    printf '    %s: {"bytes": %s, "sha256": %s}%s\n' "$(json_str "$f")" "$(stat -c %s "$WORK/$f")" \
      "$(json_str "$( [[ $f == rootfs.img ]] && echo skipped || sha256sum "$WORK/$f" | cut -d' ' -f1)")" \
      "$( [[ $f == rootfs.img ]] || echo ,)"
  done
  printf '  },\n'
  printf '  "packages": [\n'
  n=$(wc -l <"$WORK/packages.tsv"); i=0
  while IFS=$'\t' read -r pkg ver; do
    i=$((i + 1))
    printf '    {"name": %s, "version": %s}%s\n' "$(json_str "$pkg")" "$(json_str "$ver")" "$( ((i < n)) && echo ,)"
  done <"$WORK/packages.tsv"
  printf '  ]\n}\n'
} >"$WORK/manifest.json"
# replace the outputs; manifest last, so a present manifest means a complete set
rm -f "$OUT_DIR/manifest.json"
for f in vmlinux initrd.img rootfs.img manifest.json; do mv -f "$WORK/$f" "$OUT_DIR/$f"; done
log "$(wc -l <"$WORK/packages.tsv") packages; outputs in $OUT_DIR:"
(cd "$OUT_DIR" && du -h --apparent-size vmlinux initrd.img rootfs.img manifest.json | sed 's/^/      apparent /' \
  && du -h rootfs.img | sed 's/^/      on disk  /')
printf 'build-image: done in %ds\n' "$((SECONDS - T0))"
