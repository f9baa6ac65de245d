#!/bin/bash
# lab/restore.sh [TAG] — bring back the lab saved by lab/snapshot.sh TAG (default "clean").
#
# Stops every running lab VM, copies the snapshot's VM dirs back into $LAB_DIR/vms, starts
# each qemu with -loadvm TAG (RAM + disks as saved), waits for ssh, and sets every guest
# clock from the host (a restored guest wakes up with the time of the snapshot).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
TAG=${1:-${LAB_SNAPSHOT:-clean}}
S=$LAB_DIR/snapshots/$TAG
require_runtime
[ -f "$S/meta" ] || die "no snapshot '$TAG' in $LAB_DIR/snapshots ('make lab-snapshot' takes one)"
want=$(sed -n 's/^image=//p' "$S/meta")
[ "$want" = "$(cat "$LAB_DIR/image/inputs.sha256" 2>/dev/null)" ] ||
  die "snapshot '$TAG' was taken on another lab image (the image was rebuilt since): take a new one"
VMS=$(sed -n 's/^vms=//p' "$S/meta")
lab_lock
T0=$(now)
for n in $(running_vms); do vm_kill "$n" & done; wait
bash "$LAB_SRC/net.sh" up
# shellcheck disable=SC2086
bash "$LAB_SRC/bmc.sh" up $VMS

load_one() {   # copy back + start with -loadvm + ssh + clock; one retry
  local n=$1 try d; d=$(vm_dir "$n")
  for try in 1 2; do
    rm -rf "$d"; mkdir -p "$d"
    cp --reflink=auto --sparse=always -p "$S/$n"/* "$d/"
    if bash "$LAB_SRC/vm.sh" start "$n" --loadvm "$TAG"; then
      local deadline=$(($(date +%s) + LAB_RESTORE_TIMEOUT))
      while [ "$(date +%s)" -lt "$deadline" ] && vm_alive "$n"; do
        if LAB_SSH_CONNECT_TIMEOUT=20 vssh "$n" "test \"\$(hostname)\" = $n" 2>/dev/null; then
          set_guest_clock "$n" || return 1
          log "$n: restored, ssh-ready, clock set ($(since "$T0")s)"
          return 0
        fi
        sleep 1
      done
      log "$n: no ssh after restoring '$TAG' (try $try)"
      console_tail "$n" 20
      vm_kill "$n"
    fi
  done
  return 1
}
for n in $LAB_ALL_VMS; do   # VMs outside the snapshot are stopped: drop their state
  [[ " $VMS " == *" $n "* ]] || rm -rf "$(vm_dir "$n")"
done
for n in $VMS; do mkdir -p "$(vm_dir "$n")"; done
write_known_hosts_from_snapshot() {
  local n
  for n in $VMS; do cp -p "$S/$n/ssh_host_ed25519_key.pub" "$(vm_dir "$n")/"; done
  write_known_hosts
}
write_known_hosts_from_snapshot
declare -A PID
for n in $VMS; do load_one "$n" & PID[$n]=$!; done
FAILED=()
for n in $VMS; do wait "${PID[$n]}" || FAILED+=("$n"); done
[ ${#FAILED[@]} = 0 ] || die "restore of '$TAG' failed for: ${FAILED[*]}"
bash "$LAB_SRC/net.sh" check
log "lab restored from snapshot '$TAG' in $(since "$T0")s: $VMS"
