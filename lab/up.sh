#!/bin/bash
# lab/up.sh [NAME...] — boot lab VMs in parallel and wait until each answers ssh.
#
# Without names: the seed topology (storage0a/0b, storage1a/1b, client0/1), plus the spares
# storage2a/2b when LAB_SPARES=1. A VM that is already running and answers ssh is left alone
# (so `up.sh storage2a storage2b` adds the spares to a running lab); every other VM boots
# fresh: new overlay on the base image, new empty data disk, new ssh host key.
# A VM that does not answer ssh within LAB_BOOT_TIMEOUT seconds (or whose qemu dies) is
# killed and booted again, up to LAB_BOOT_RETRIES times; its console tail is printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_runtime
for f in vmlinuz initrd.img base.qcow2 inputs.sha256; do
  [ -s "$LAB_DIR/image/$f" ] || die "no lab image ($LAB_DIR/image/$f missing): run 'make lab-image'"
done
VMS=$(select_vms "$@") || exit 1
lab_lock
ensure_client_key
T0=$(now)
bash "$LAB_SRC/net.sh" up
# shellcheck disable=SC2086
bash "$LAB_SRC/bmc.sh" up $VMS

# wait_ssh NAME TIMEOUT: 0 ready, 1 timeout or qemu died, 2 host key REJECTED (never retried)
wait_ssh() {
  local n=$1 deadline=$(($(date +%s) + $2)) err left ct
  while left=$((deadline - $(date +%s))) && [ "$left" -gt 0 ]; do
    vm_alive "$n" || { log "$n: qemu exited during boot"; return 1; }
    ct=$((left < 20 ? left : 20))
    if err=$(LAB_SSH_CONNECT_TIMEOUT=$ct timeout $((ct + 15)) bash -c '. "$1"; vssh "$2" "test \"\$(hostname)\" = $2"' _ "$LAB_SRC/lib.sh" "$n" 2>&1); then
      return 0
    fi
    case $err in
      *"Host key verification failed"*|*"IDENTIFICATION HAS CHANGED"*)
        log "$n: ssh host key check FAILED: $err"; return 2 ;;
    esac
    sleep 2
  done
  log "$n: no ssh after $2 s (last error: ${err:-none})"
  return 1
}

boot_one() {   # runs in a background subshell per VM
  local n=$1 attempt=0 t rc
  while :; do
    attempt=$((attempt + 1)); t=$(now)
    if bash "$LAB_SRC/vm.sh" start "$n"; then
      rc=0; wait_ssh "$n" "$LAB_BOOT_TIMEOUT" || rc=$?
      if [ $rc = 0 ]; then
        set_guest_clock "$n" || set_guest_clock "$n" || log "$n: WARNING: guest clock not set"
        log "$n: ssh-ready after $(since "$t")s (attempt $attempt, pid $(vm_pid "$n"))"
        echo "$(since "$t")" >"$(vm_dir "$n")/boot-seconds"
        return 0
      fi
      console_tail "$n" 30
      vm_kill "$n"
      [ $rc = 2 ] && return 1
    fi
    [ $attempt -gt "$LAB_BOOT_RETRIES" ] && { log "$n: giving up after $attempt attempts"; return 1; }
    log "$n: retrying the boot (attempt $((attempt + 1)) of $((LAB_BOOT_RETRIES + 1)))"
    cp -f "$(vm_dir "$n")/console.log" "$(vm_dir "$n")/console.fail$attempt.log" 2>/dev/null || true
    bash "$LAB_SRC/vm.sh" prepare "$n" --keep-keys
  done
}

BOOT=()
declare -A LIVE
for n in $VMS; do   # running VMs: ask them all at once whether they answer ssh
  if vm_alive "$n"; then (vssh "$n" true 2>/dev/null) & LIVE[$n]=$!; fi
done
for n in $VMS; do
  if [ -n "${LIVE[$n]:-}" ]; then
    if wait "${LIVE[$n]}"; then log "$n: already running (pid $(vm_pid "$n")), left alone"; continue; fi
    log "$n: running but not answering ssh: restarting it"
    vm_kill "$n"
  fi
  BOOT+=("$n")
done
if [ ${#BOOT[@]} = 0 ]; then log "lab already up: $(echo $VMS)"; exit 0; fi

busy=$(ss -Hltn 2>/dev/null | awk '{print $4}')
for n in "${BOOT[@]}"; do
  if grep -qE "^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):$(vm_port "$n")\$" <<<"$busy"; then
    die "port 127.0.0.1:$(vm_port "$n") (ssh of $n) is already in use on this host"
  fi
done
for n in "${BOOT[@]}"; do bash "$LAB_SRC/vm.sh" prepare "$n"; done
# a stopped VM outside this boot keeps no state (nor a known_hosts line) from an earlier lab
for n in $LAB_ALL_VMS; do
  vm_alive "$n" || [[ " ${BOOT[*]} " == *" $n "* ]] || rm -rf "$(vm_dir "$n")"
done
write_known_hosts
log "booting ${#BOOT[@]} VMs in parallel (TCG): ${BOOT[*]}"
declare -A PID
# interrupted: stop what this run was booting (VMs that were already up stay up)
on_interrupt() {
  trap - INT TERM
  log "interrupted: stopping ${BOOT[*]}"
  kill "${PID[@]}" 2>/dev/null; sleep 2          # boot loops, then any qemu a loop was starting
  for n in "${BOOT[@]}"; do vm_kill "$n" & done; wait
  kill_strays "${BOOT[@]}"
  exit 130
}
trap on_interrupt INT TERM
for n in "${BOOT[@]}"; do boot_one "$n" & PID[$n]=$!; done
FAILED=()
for n in "${BOOT[@]}"; do wait "${PID[$n]}" || FAILED+=("$n"); done
bash "$LAB_SRC/net.sh" check
if [ ${#FAILED[@]} -gt 0 ]; then
  die "VMs failed to boot: ${FAILED[*]} (consoles: $LAB_DIR/vms/NAME/console*.log; 'make lab-down' stops the rest)"
fi
rss=0
for n in $(running_vms); do rss=$((rss + $(ps -o rss= -p "$(vm_pid "$n")"))); done
log "lab up in $(since "$T0")s: $(running_vms | tr '\n' ' ')(qemu RSS total $((rss / 1024)) MiB)"
log "ssh: lab/ssh.sh NAME CMD...   or   ssh -F $LAB_DIR/ssh_config NAME"
