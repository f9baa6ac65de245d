#!/bin/bash
# lab/snapshot.sh [TAG] — save the running lab (every running VM) as snapshot TAG (default "clean").
#
# All VMs are paused together, each saves its RAM + disks as qcow2 internal snapshot TAG
# (savevm through its QMP socket), qemu quits, and the VM dirs are copied to
# $LAB_DIR/snapshots/TAG (so a later fresh lab-up does not lose the snapshot). The lab then
# continues from the snapshot (like lab-restore, which also proves the snapshot loads).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
TAG=${1:-${LAB_SNAPSHOT:-clean}}
[[ $TAG =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad snapshot tag '$TAG'"
require_runtime
VMS=$(running_vms | tr '\n' ' ')
[ -n "$VMS" ] || die "no lab VM is running: 'make lab-up' first"
T0=$(now)
(
  lab_lock
  for n in $VMS; do qmp "$(vm_dir "$n")/qmp.sock" stop >/dev/null || die "cannot pause $n"; done
  log "paused: $VMS"
  declare -A PID
  for n in $VMS; do qmp "$(vm_dir "$n")/qmp.sock" hmp "savevm $TAG" --timeout 900 >"$(vm_dir "$n")/savevm.out" 2>&1 & PID[$n]=$!; done
  for n in $VMS; do
    wait "${PID[$n]}" || { cat "$(vm_dir "$n")/savevm.out" >&2; die "savevm $TAG failed on $n"; }
    qmp "$(vm_dir "$n")/qmp.sock" hmp "info snapshots" | grep -qw -- "$TAG" || die "snapshot $TAG missing on $n after savevm"
  done
  log "savevm $TAG done on all VMs in $(since "$T0")s"
  for n in $VMS; do vm_kill "$n" & done; wait
  S=$LAB_DIR/snapshots
  rm -rf "$S/$TAG.new"; mkdir -p "$S/$TAG.new"
  for n in $VMS; do
    mkdir "$S/$TAG.new/$n"
    d=$(vm_dir "$n")
    for f in root.qcow2 data.qcow2 overlay.tar ssh_host_ed25519_key ssh_host_ed25519_key.pub machine-id mem image.sha256; do
      [ -e "$d/$f" ] && cp --reflink=auto --sparse=always -p "$d/$f" "$S/$TAG.new/$n/"
    done
  done
  { echo "vms=$VMS"; echo "image=$(cat "$LAB_DIR/image/inputs.sha256")"; echo "taken=$(date -u +%FT%TZ)"; } >"$S/$TAG.new/meta"
  rm -rf "${S:?}/$TAG"; mv "$S/$TAG.new" "$S/$TAG"
  log "snapshot $TAG saved: $(du -sh "$S/$TAG" | cut -f1) in $S/$TAG ($(since "$T0")s)"
)
# continue from the snapshot, which also proves it loads
exec bash "$LAB_SRC/restore.sh" "$TAG"
