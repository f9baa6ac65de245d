#!/bin/bash
# lab/bmc-power.sh NAME get power | set power 0|1 | set reset 1 — the "chassis_control" program
# of NAME's ipmi_sim (lab/bmc.sh): how the BMC reads and switches the VM's power.
#   get power     prints power:1 when NAME's qemu runs, power:0 otherwise
#   set power 0   pulls the plug: SIGKILL to its qemu, now (a fence must not wait for a shutdown)
#   set power 1   boots it (lab/vm.sh start, in the host's namespace where its ssh forward lives)
#   set reset 1   off, then on
# ipmi_sim runs it inside the lab's namespace; every call is logged to $LAB_DIR/bmc/NAME/power.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
n=$1; shift
log_to=$LAB_DIR/bmc/$n/power.log
echo "$(date -u +%FT%T.%3NZ) $*" >>"$log_to"
off() {
  local p
  if vm_alive "$n"; then p=$(vm_pid "$n"); kill -KILL "$p" 2>/dev/null; wait_gone "$p" 10 || return 1; fi
  rm -f "$(vm_dir "$n")/qemu.pid"
  echo "$(date -u +%FT%T.%3NZ)   powered off" >>"$log_to"
}
on() {
  vm_alive "$n" && return 0
  nsenter --net="/run/netns/$LAB_HOSTNS" bash "$LAB_SRC/vm.sh" start "$n" </dev/null >>"$log_to" 2>&1 || return 1
  echo "$(date -u +%FT%T.%3NZ)   powered on (pid $(vm_pid "$n"))" >>"$log_to"
}
case "$1 $2" in
  "get power") if vm_alive "$n"; then echo "power:1"; else echo "power:0"; fi ;;
  "set power") if [ "${3:-}" = 0 ]; then off; else on; fi ;;
  "set reset") off && on ;;
  get\ *) ;;        # boot device and the like: nothing to report
  set\ *) ;;
esac
