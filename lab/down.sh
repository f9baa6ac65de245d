#!/bin/bash
# lab/down.sh — stop every lab VM and remove the lab's network namespace.
# Leaves no qemu of this lab behind: pidfiles first, then any qemu whose command line names
# a file under $LAB_DIR/vms (lost pidfiles); fails loudly if one survives.
# State (overlays, keys, snapshots, image) stays in $LAB_DIR; the next lab-up boots fresh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
lab_lock
T0=$(now)
stopped=()
for n in $LAB_ALL_VMS; do
  if vm_alive "$n"; then stopped+=("$n"); vm_kill "$n" & fi
done
wait
kill_strays
left=$(lab_qemu_pids)
[ -z "$left" ] || die "lab qemu processes still alive: $left"
bash "$LAB_SRC/bmc.sh" down
bash "$LAB_SRC/net.sh" down
rm -f "$LAB_DIR"/vms/*/qemu.pid "$LAB_DIR"/vms/*/qmp.sock 2>/dev/null || true
log "lab down in $(since "$T0")s${stopped:+ (stopped: ${stopped[*]})}"
