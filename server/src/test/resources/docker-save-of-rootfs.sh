#!/usr/bin/env bash
# Writes a real docker save archive (manifest.json, an image config, two layer tars) of the
# Debian 12 root file system inside an ext4 image, for the import tests: no registry is needed.
#
#   docker-save-of-rootfs.sh ROOTFS_IMG OUT_TAR
#
# Layer 1 is the root without what boxd adds (agent, in-VM CLI, user boxd, kernel modules), so
# the import has to add them again. Layer 2 holds whiteouts (a file and an opaque directory) and
# a marker file, so the importer's layer order and whiteouts are exercised as Docker writes them.
set -euo pipefail
IMG=$(readlink -f "$1")
OUT=$(readlink -f "$2")
WORK=$(mktemp -d)
MNT="$WORK/mnt"
cleanup() { mountpoint -q "$MNT" && umount "$MNT"; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$MNT" "$WORK/l1" "$WORK/l2/etc/boxd-import-test" "$WORK/l2/usr/local/bin" "$WORK/l2/var/cache/apt" "$WORK/save"
mount -o loop,ro,noload "$IMG" "$MNT"
# layer 1: the root as Debian made it, less boxd's own files
tar -C "$MNT" --numeric-owner --xattrs -cf "$WORK/save/layer1.tar" \
  --exclude=./usr/lib/modules --exclude=./usr/local/bin/boxd --exclude=./usr/local/bin/boxd-agent \
  --exclude=./home/boxd --exclude=./etc/sudoers.d/boxd --exclude=./etc/systemd/system/boxd-agent.service .
# layer 2: user boxd removed from the account files, a whiteout, an opaque directory, a marker
for f in passwd shadow group gshadow; do
  grep -v '^boxd:' "$MNT/etc/$f" | sed 's/,boxd$//; s/:boxd$/:/' >"$WORK/l2/etc/$f"
done
chmod 0644 "$WORK/l2/etc/passwd" "$WORK/l2/etc/group"
chmod 0640 "$WORK/l2/etc/shadow" "$WORK/l2/etc/gshadow"
echo "imported from a docker save archive" >"$WORK/l2/etc/boxd-import-test/marker"
: >"$WORK/l2/etc/.wh.hostname"                 # removes /etc/hostname of layer 1
: >"$WORK/l2/var/cache/apt/.wh..wh..opq"         # empties /var/cache/apt of layer 1
tar -C "$WORK/l2" --numeric-owner --owner=0 --group=0 -cf "$WORK/save/layer2.tar" .
umount "$MNT"
c1=$(sha256sum "$WORK/save/layer1.tar" | cut -c1-64); c2=$(sha256sum "$WORK/save/layer2.tar" | cut -c1-64)
mkdir -p "$WORK/save/$c1" "$WORK/save/$c2"
mv "$WORK/save/layer1.tar" "$WORK/save/$c1/layer.tar"
mv "$WORK/save/layer2.tar" "$WORK/save/$c2/layer.tar"
cat >"$WORK/save/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Cmd":["/sbin/init"]},"rootfs":{"type":"layers","diff_ids":["sha256:$c1","sha256:$c2"]}}
JSON
cfg=$(sha256sum "$WORK/save/config.json" | cut -c1-64)
mv "$WORK/save/config.json" "$WORK/save/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["boxd-import-test:latest"],"Layers":["%s/layer.tar","%s/layer.tar"]}]\n' "$cfg" "$c1" "$c2" \
  >"$WORK/save/manifest.json"
printf '{"boxd-import-test":{"latest":"%s"}}\n' "$c2" >"$WORK/save/repositories"
tar -C "$WORK/save" -cf "$OUT" .
