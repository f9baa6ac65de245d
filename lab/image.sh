#!/bin/bash
# lab/image.sh [--force] — build the lab's kernel, initrd and base disk image from Debian packages.
#
# Outputs in $LAB_DIR/image/: vmlinuz, initrd.img, base.qcow2, inputs.sha256, info.
# Cached: nothing is rebuilt while the hash of the inputs (this script, packages.txt,
# guest/*, the resolved kernel package) equals image/inputs.sha256. The debootstrap'ed
# root filesystem is cached separately (keyed by packages.txt), as are the .debs.
#
# The image is VM-neutral: hostname, addresses, ssh host key, authorized key, machine-id and
# iSCSI initiator name come per VM at boot (fw_cfg overlay, see vm.sh and guest/init).
# The stack's services are installed but disabled at boot: scalestore enables them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
FORCE=0; [ "${1:-}" = --force ] && FORCE=1

require_root
require_cmds debootstrap qemu-img mke2fs depmod modprobe cpio gzip busybox dpkg apt-get apt-cache chroot sha256sum

IMG=$LAB_DIR/image
CACHE=$LAB_DIR/cache
mkdir -p "$IMG" "$CACHE/kernel" "$CACHE/debs"

# ---- the Debian mirror: the one this host's apt already uses (or LAB_MIRROR)
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822 stanzas: pick URIs of a stanza whose Suites has a plain suite (not -security/-updates)
    awk 'BEGIN{RS=""; FS="\n"} {
           u=""; s=""; t="";
           for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){u=$i; sub(/^URIs:[ \t]*/,"",u)}
                               if($i ~ /^Suites:/){s=$i}
                               if($i ~ /^Types:/){t=$i} }
           if (t ~ /deb( |$)/ && s ~ /(bookworm|stable)( |$)/ && u != "") {split(u,a," "); print a[1]}
         }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1=="deb" && ($3=="bookworm" || $3=="stable") {for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; break}}' "$f"
  done
}
MIRROR=${LAB_MIRROR:-$(host_mirror | grep -v -- -security | head -1)}
[ -n "$MIRROR" ] || die "no Debian $LAB_SUITE mirror found in this host's apt sources; set LAB_MIRROR=URL"

# ---- resolve the current bookworm kernel package (needs apt lists)
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(kernel_pkg)
if [ -z "$KPKG" ]; then
  log "apt lists have no linux-image-amd64; running apt-get update"
  apt-get update -qq >/dev/null || true
  KPKG=$(kernel_pkg)
fi
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 through apt (run 'make lab-deps')"
KVER_DEB=$(apt-cache show --no-all-versions "$KPKG" | awk '/^Version:/{print $2; exit}')
KV=${KPKG#linux-image-}            # e.g. 6.1.0-56-amd64

# ---- inputs hash
inputs_hash() {
  {
    echo "suite=$LAB_SUITE kernel=$KPKG $KVER_DEB"
    cat "$LAB_SRC/image.sh" "$LAB_SRC/packages.txt"
    for f in "$LAB_SRC"/guest/*; do echo "== ${f##*/}"; cat "$f"; done
  } | sha256sum | cut -d' ' -f1
}
HASH=$(inputs_hash)
if [ $FORCE = 0 ] && [ "$(cat "$IMG/inputs.sha256" 2>/dev/null)" = "$HASH" ] &&
   [ -s "$IMG/base.qcow2" ] && [ -s "$IMG/vmlinuz" ] && [ -s "$IMG/initrd.img" ]; then
  log "image is up to date (inputs ${HASH:0:12}, $KPKG)"
  exit 0
fi

lab_lock
if [ -n "$(running_vms)" ]; then
  die "the image must be rebuilt but lab VMs are running on the old one: run 'make lab-down' first"
fi
T0=$(now)
log "building the lab image (inputs ${HASH:0:12}, $KPKG $KVER_DEB, mirror from host apt config)"

# ---- 1. kernel package (cached .deb)
KDEB=$(ls "$CACHE/kernel/${KPKG}_${KVER_DEB}_amd64.deb" 2>/dev/null || true)
if [ -z "$KDEB" ]; then
  (cd "$CACHE/kernel" && apt-get download -q -o APT::Sandbox::User=root "$KPKG=$KVER_DEB" >/dev/null) ||
    die "apt-get download $KPKG failed"
  KDEB=$(ls "$CACHE/kernel/${KPKG}_"*_amd64.deb | head -1)
fi
find "$CACHE/kernel" -name 'linux-image-*.deb' ! -path "$KDEB" -delete
KX=$CACHE/kernel/x-$KV
if [ ! -e "$KX/.complete" ]; then
  rm -rf "$KX"; mkdir -p "$KX"
  dpkg -x "$KDEB" "$KX"
  depmod -b "$KX" "$KV"            # the .deb ships no modules.dep
  touch "$KX/.complete"
fi
log "kernel $KV ready ($(since "$T0")s)"

# ---- 2. root filesystem from debootstrap (cached by package list + suite)
PKGS=$(sed 's/#.*//' "$LAB_SRC/packages.txt" | tr -s ' \t\n' '\n' | grep -v '^$' | sort -u | paste -sd, -)
RKEY=$(printf 'rootfs-v1 %s %s %s\n' "$LAB_SUITE" "$PKGS" "$MIRROR" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs-$RKEY
if [ ! -e "$ROOTFS/.complete" ]; then
  T1=$(now)
  log "debootstrap $LAB_SUITE minbase + $(echo "$PKGS" | tr ',' '\n' | wc -l) packages (takes a few minutes)"
  rm -rf "$ROOTFS" "$ROOTFS.log"
  if ! debootstrap --variant=minbase --include="$PKGS" --cache-dir="$CACHE/debs" \
         "$LAB_SUITE" "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    tail -30 "$CACHE/debootstrap.log" >&2
    [ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -30 "$ROOTFS/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  touch "$ROOTFS/.complete"
  for old in "$CACHE"/rootfs-*; do [ "$old" = "$ROOTFS" ] || rm -rf "$old"; done
  log "root filesystem debootstrapped in $(since "$T1")s"
else
  log "root filesystem cached ($ROOTFS)"
fi

# ---- 3. configure a copy of it
B=$LAB_DIR/image.build
rm -rf "$B"; mkdir -p "$B"
R=$B/root
cp -a "$ROOTFS" "$R"; rm -f "$R/.complete"

# kernel modules, trimmed of hardware a VM never has
mkdir -p "$R/lib/modules"
tar -C "$KX/lib/modules" -cf - \
  --exclude="$KV/kernel/drivers/gpu" --exclude="$KV/kernel/drivers/media" --exclude="$KV/kernel/sound" \
  --exclude="$KV/kernel/drivers/net/wireless" --exclude="$KV/kernel/drivers/net/ethernet" \
  --exclude="$KV/kernel/drivers/infiniband" --exclude="$KV/kernel/drivers/staging" \
  --exclude="$KV/kernel/drivers/iio" --exclude="$KV/kernel/drivers/usb" --exclude="$KV/kernel/drivers/comedi" \
  --exclude="$KV/kernel/drivers/bluetooth" --exclude="$KV/kernel/net/bluetooth" \
  --exclude="$KV/kernel/net/wireless" --exclude="$KV/kernel/net/mac80211" "$KV" | tar -C "$R/lib/modules" -xf -
cp "$KX/boot/config-$KV" "$KX/boot/System.map-$KV" "$R/boot/" 2>/dev/null || true
depmod -b "$R" "$KV"

echo lab >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n' >"$R/etc/hosts"
printf '/dev/vda\t/\text4\trw,noatime\t0\t0\n' >"$R/etc/fstab"
: >"$R/etc/machine-id"; rm -f "$R/var/lib/dbus/machine-id"; ln -s /etc/machine-id "$R/var/lib/dbus/machine-id"
rm -f "$R"/etc/ssh/ssh_host_*                               # injected per VM
install -d -m 700 "$R/root/.ssh"
install -d -m 755 "$R/etc/scalestore-lab"
install -m 644 "$LAB_SRC/guest/sshd-lab.conf" "$R/etc/ssh/sshd_config.d/scalestore-lab.conf"
install -d -m 755 "$R/etc/systemd/journald.conf.d"
install -m 644 "$LAB_SRC/guest/journald-lab.conf" "$R/etc/systemd/journald.conf.d/scalestore-lab.conf"
install -m 755 "$LAB_SRC/guest/lab-net" "$R/usr/local/sbin/lab-net"
install -m 644 "$LAB_SRC/guest/lab-net.service" "$R/etc/systemd/system/lab-net.service"
install -m 644 "$LAB_SRC/guest/modprobe-lab.conf" "$R/etc/modprobe.d/scalestore-lab.conf"
passwd -R "$R" -l root >/dev/null 2>&1 || chroot "$R" passwd -l root >/dev/null

sysctl_chroot() { chroot "$R" systemctl "$@" >/dev/null 2>&1; }
sysctl_chroot enable lab-net.service ssh.service || die "systemctl enable lab-net/ssh in the image failed"
sysctl_chroot set-default multi-user.target
# the stack's services: installed, NOT started at boot (scalestore enables what it needs)
STACK_UNITS="drbd.service rtslib-fb-targetctl.service targetclid.service targetclid.socket
  iscsid.service iscsid.socket open-iscsi.service iscsiuio.service iscsiuio.socket
  multipathd.service multipathd.socket corosync.service dlm.service lvmlockd.service lvmlocks.service"
# housekeeping that only slows a TCG boot down (disabled)
CHORE_UNITS="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service
  fstrim.timer man-db.timer logrotate.timer getty@tty1.service lvm2-monitor.service systemd-pstore.service"
# static units a lab VM has no use for (masked): the initrd already mounts / rw,noatime; no
# debugfs/tracefs/hugepages/fuse/binfmt/drm/pstore; no logins but ssh (root is locked, so a
# serial getty is useless; libpam-systemd is not installed, so nothing talks to logind)
MASK_UNITS="systemd-remount-fs.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount
  sys-fs-fuse-connections.mount proc-sys-fs-binfmt_misc.automount systemd-binfmt.service
  modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service serial-getty@ttyS0.service
  systemd-logind.service"
for u in $MASK_UNITS; do ln -sf /dev/null "$R/etc/systemd/system/$u"; done
: >"$R/etc/scalestore-lab/stack-units"
for u in $STACK_UNITS $CHORE_UNITS; do
  [ -n "$(chroot "$R" systemctl list-unit-files --no-legend "$u" 2>/dev/null)" ] || continue
  sysctl_chroot disable "$u" || true
  case " $(echo $STACK_UNITS) " in *" $u "*) echo "$u" >>"$R/etc/scalestore-lab/stack-units" ;; esac
done
rm -f "$R/etc/systemd/system/getty.target.wants/getty@tty1.service"
# nothing must pull in the network: no apt sources the VMs could try, no caches
: >"$R/etc/apt/sources.list"
rm -rf "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* \
       "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* "$R/debootstrap"
find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
echo "scalestore-lab image ${HASH:0:12} $KPKG $KVER_DEB" >"$R/etc/scalestore-lab/image"

# ---- 4. initrd: busybox + virtio/ext4/fw_cfg modules (resolved with their dependencies)
I=$B/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,etc,lib/modules/"$KV"}
cp "$(command -v busybox)" "$I/bin/busybox"
for l in sh mount umount modprobe insmod switch_root sleep cat echo tar reboot; do ln -s busybox "$I/bin/$l"; done
INITRD_MODULES="virtio_pci virtio_blk virtio_net crc32c_generic ext4 qemu_fw_cfg"
echo "$INITRD_MODULES" >"$I/etc/initrd-modules"
for m in $INITRD_MODULES; do
  modprobe -d "$KX" -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}' | while read -r f; do
    rel=${f#"$KX"/lib/modules/"$KV"/}
    mkdir -p "$I/lib/modules/$KV/$(dirname "$rel")"
    cp "$f" "$I/lib/modules/$KV/$rel"
  done
done
cp "$KX/lib/modules/$KV/modules.order" "$KX/lib/modules/$KV/modules.builtin" "$I/lib/modules/$KV/"
depmod -b "$I" "$KV" 2>/dev/null
install -m 755 "$LAB_SRC/guest/init" "$I/init"
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$B/initrd.img"
cp "$KX/boot/vmlinuz-$KV" "$B/vmlinuz"

# ---- 5. root disk image, no loop mount needed
mke2fs -q -t ext4 -L scalestore-lab -E root_owner=0:0 -d "$R" "$B/base.raw" 2G >/dev/null
qemu-img convert -O qcow2 "$B/base.raw" "$B/base.qcow2"
rm -f "$B/base.raw"

# ---- 6. publish atomically-ish, then record the inputs
rm -f "$IMG/inputs.sha256"
mv -f "$B/vmlinuz" "$B/initrd.img" "$B/base.qcow2" "$IMG/"
{ echo "kernel=$KPKG $KVER_DEB"; echo "built=$(date -u +%FT%TZ)"; echo "rootfs_used=$(du -sh "$R" | cut -f1)"; } >"$IMG/info"
echo "$HASH" >"$IMG/inputs.sha256"
rm -rf "$B" "$KX"     # the extracted kernel (~400 MB) is re-extracted from the cached .deb when needed
log "image built in $(since "$T0")s: $(du -h "$IMG/base.qcow2" | cut -f1) base.qcow2, $(du -h "$IMG/initrd.img" | cut -f1) initrd"
