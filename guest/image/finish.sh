#!/usr/bin/env bash
# The finishing steps every boxd image shares, sourced by build-image.sh (images from a recipe)
# and import-image.sh (images from a root file system or docker save archive): the kernel and
# initramfs, the platform inside the root (user boxd, agent, in-VM CLI, sshd settings, units),
# kernel modules, stripping, the ext4 image and its manifest. The caller defines OUT_DIR, WORK,
# ROOT, FILES, AGENT_BINARY, CLI_BINARY and TOTAL_STEPS, and calls these in order.

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

# The guest kernel: KVER, KPKG and KPKG_VERSION from /boot (BOXD_IMAGE_KERNEL names one).
finish_detect_kernel() {
  if [[ -n "${BOXD_IMAGE_KERNEL:-}" ]]; then
    KVER=$BOXD_IMAGE_KERNEL
  else
    KVER=$(ls /boot | sed -n 's/^vmlinuz-\(.*-cloud-amd64\)$/\1/p' | sort -V | tail -n 1)
  fi
  [[ -n "$KVER" && -f "/boot/vmlinuz-$KVER" ]] || die "no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64"
  [[ -f "/lib/modules/$KVER/modules.dep" ]] || die "no /lib/modules/$KVER/modules.dep"
  KPKG=$(dpkg-query -S "/boot/vmlinuz-$KVER" 2>/dev/null | cut -d: -f1 || true)
  KPKG_VERSION=$( [[ -n "$KPKG" ]] && dpkg-query -W -f '${Version}' "$KPKG" || echo unknown)
}

# The agent's unit: AGENT_UNIT (BOXD_IMAGE_AGENT_UNIT names one).
finish_agent_unit() {
  AGENT_UNIT=${BOXD_IMAGE_AGENT_UNIT:-}
  if [[ -z "$AGENT_UNIT" ]]; then
    if [[ -f "$HERE/../agent/boxd-agent.service" ]]; then AGENT_UNIT="$HERE/../agent/boxd-agent.service"
    else AGENT_UNIT="$FILES/boxd-agent.service"; fi
  fi
  [[ -f "$AGENT_UNIT" ]] || die "agent unit not found: $AGENT_UNIT"
  log "agent unit $AGENT_UNIT"
}

# vmlinux: the PVH ELF inside the cloud kernel's bzImage
finish_kernel() {
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
}

# initrd.img: busybox and the virtio modules
finish_initramfs() {
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
}

# user boxd, agent, in-VM CLI and sshd settings inside the root
finish_platform() {
  # --remove-destination: a file of an imported root may be a link, which cp must replace, never follow
  cp -r --no-preserve=ownership --remove-destination "$FILES/rootfs/." "$ROOT/"
  chmod 0440 "$ROOT/etc/sudoers.d/boxd"
  mkdir -p "$ROOT/etc/boxd" "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system"
  in_root visudo -c -q -f /etc/sudoers.d/boxd
  # uid/gid 1000 unless an imported root gave them to someone else; a root that has boxd keeps it
  if ! in_root getent group boxd >/dev/null; then
    if in_root getent group 1000 >/dev/null; then in_root groupadd boxd; else in_root groupadd -g 1000 boxd; fi
  fi
  if ! in_root getent passwd boxd >/dev/null; then
    if in_root getent passwd 1000 >/dev/null; then in_root useradd -g boxd -m -d /home/boxd -s /bin/bash -c boxd boxd
    else in_root useradd -u 1000 -g boxd -m -d /home/boxd -s /bin/bash -c boxd boxd; fi
  fi
  in_root usermod -p '*' boxd           # no password; not "locked", so sshd accepts keys for it
  # Docker's socket, where the root has Docker
  if in_root getent group docker >/dev/null; then in_root usermod -aG docker boxd; fi
  # agent
  rm -f "$ROOT/usr/local/bin/boxd-agent" "$ROOT/etc/systemd/system/boxd-agent.service" "$ROOT/usr/local/bin/boxd"
  install -m 0755 "$AGENT_BINARY" "$ROOT/usr/local/bin/boxd-agent"
  install -m 0644 "$AGENT_UNIT" "$ROOT/etc/systemd/system/boxd-agent.service"
  if grep -q '^\[Install\]' "$ROOT/etc/systemd/system/boxd-agent.service"; then
    in_root systemctl enable boxd-agent.service >/dev/null 2>&1
  fi
  in_root systemctl enable boxd-agent.path boxd-sshd-hostkey.path >/dev/null 2>&1
  # the in-VM command line (docs/gateway-protocol.md)
  install -m 0755 "$CLI_BINARY" "$ROOT/usr/local/bin/boxd"
  in_root systemctl set-default multi-user.target >/dev/null 2>&1
}

# masked units and generators, interface names, no resolver of the build host
finish_units() {
  for u in "${MASK_UNITS[@]}"; do in_root systemctl mask "$u" >/dev/null 2>&1; done
  # generators for things a microVM with a plain /dev/vda never has (each one is a process at boot)
  mkdir -p "$ROOT/etc/systemd/system-generators"
  for g in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup system-update; do
    ln -sfn /dev/null "$ROOT/etc/systemd/system-generators/systemd-$g-generator"
  done
  # classic interface names (eth0): the agent configures eth0
  mkdir -p "$ROOT/etc/systemd/network"
  ln -sfn /dev/null "$ROOT/etc/systemd/network/99-default.link"
  # no stale resolver from the build host; the agent writes the VM's DNS server
  rm -f "$ROOT/etc/resolv.conf"
  : >"$ROOT/etc/resolv.conf"
}

# the guest kernel's modules under MODULES_DIR (default usr/lib/modules)
finish_modules() {
  local dir="$ROOT/${MODULES_DIR:-usr/lib/modules}"
  mkdir -p "$dir"
  rm -rf "${dir:?}/$KVER"
  cp -a "/lib/modules/$KVER" "$dir/"
  rm -f "$dir/$KVER/build" "$dir/$KVER/source"
  # the root's own depmod where it has kmod; the host's (same format) for an imported root without
  if [[ -x "$ROOT/usr/sbin/depmod" || -x "$ROOT/sbin/depmod" ]]; then in_root depmod -a "$KVER"
  else depmod -b "$ROOT" "$KVER"; fi
  log "$(find "$dir/$KVER" -name '*.ko*' | wc -l) modules, $(du -sh "$dir/$KVER" | cut -f1)"
}

# no identity, caches or documentation in the image
finish_strip() {
  rm -f "$ROOT"/etc/ssh/ssh_host_*                      # per-VM keys come from the agent
  rm -f "$ROOT/etc/machine-id"
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
  if [[ -d "$ROOT/var/cache" ]]; then find "$ROOT/var/cache" -name '*.bin' -delete; fi
  if [[ -d "$ROOT/usr/share/doc" ]]; then find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete; fi
  if [[ -d "$ROOT/usr/share/doc" ]]; then find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete; fi
  rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian/*
  if [[ -d "$ROOT/usr/share/locale" ]]; then find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +; fi
  log "root tree $(du -sh --apparent-size "$ROOT" | cut -f1)"
}

# rootfs.img: sparse ext4 of the root (BOXD_IMAGE_SIZE, default 100G)
finish_rootfs_img() {
  local SIZE=${BOXD_IMAGE_SIZE:-100G}
  # Package list first: it also seeds the file system UUID so the same content gives the same UUID.
  if [[ -x "$ROOT/usr/bin/dpkg-query" ]]; then
    in_root dpkg-query -W -f '${Package}\t${Version}\n' | LC_ALL=C sort >"$WORK/packages.tsv"
  else
    : >"$WORK/packages.tsv"
  fi
  SEED=$(cat "$WORK/packages.tsv" <(echo "$KVER $SIZE${SEED_EXTRA:+ $SEED_EXTRA}") | sha256sum | cut -c1-64)
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
}

# manifest.json, then the outputs replace those in OUT_DIR (the manifest last)
finish_manifest() {
  json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
  {
    printf '{\n'
    printf '  "format": 1,\n'
    printf '  "built": %s,\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    if [[ -n "${IMPORT_NAME:-}" ]]; then
      printf '  "imported": {"name": %s, "kind": %s, "source_sha256": %s, "os": %s},\n' "$(json_str "$IMPORT_NAME")" \
        "$(json_str "$IMPORT_KIND")" "$(json_str "$IMPORT_SHA256")" "$(json_str "${IMPORT_OS:-unknown}")"
    else
      printf '  "suite": %s,\n' "$(json_str "$SUITE")"
      printf '  "recipe": %s,\n' "$(json_str "$RECIPE")"
      printf '  "mirror": %s,\n' "$(json_str "$MIRROR")"
    fi
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
}

