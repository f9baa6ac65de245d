#!/bin/bash
# lab/net.sh up|down|check — the lab's networks: two bridges inside their own network namespace.
#
# Namespace $LAB_NETNS holds lo, bridge br0 (the cluster LAN 10.0.0.0/24; 10.0.0.1 for
# diagnostics from the host with 'ip netns exec', and 10.0.0.(100+X), the IPMI BMC of the VM
# with address .X, served by lab/bmc.sh's ipmi_sim inside the namespace), bridge br1 (the
# storage pairs' replication link 10.0.1.0/24, so that link can be cut alone) and the taps of
# the running VMs (created inside the namespace by tap-exec.py). There is no veth, no other
# interface and no route out of it, and forwarding is off: the lab's networks reach nothing but
# the lab's own VMs and BMCs. $LAB_HOSTNS names the host's own namespace, so that a BMC
# (living in $LAB_NETNS) can power its VM on where qemu's ssh forward belongs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
NS=$LAB_NETNS
nsip() { ip -n "$NS" "$@"; }

up() {
  require_root
  ip netns list | awk '{print $1}' | grep -qx "$NS" || ip netns add "$NS"
  nsip link set lo up
  ip netns exec "$NS" sh -c 'sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1'
  nsip link show "$LAB_BRIDGE" >/dev/null 2>&1 || nsip link add "$LAB_BRIDGE" type bridge stp_state 0 forward_delay 0
  nsip addr replace "$LAB_LAN_PREFIX.1/24" dev "$LAB_BRIDGE"
  nsip link set "$LAB_BRIDGE" up
  nsip link show "$LAB_REPL_BRIDGE" >/dev/null 2>&1 || nsip link add "$LAB_REPL_BRIDGE" type bridge stp_state 0 forward_delay 0
  nsip addr replace "$LAB_REPL_PREFIX.1/24" dev "$LAB_REPL_BRIDGE"
  nsip link set "$LAB_REPL_BRIDGE" up
  local n
  for n in $LAB_ALL_VMS; do nsip addr replace "$(vm_bmc_ip "$n")/32" dev "$LAB_BRIDGE"; done
  [ -e "/run/netns/$LAB_HOSTNS" ] || ip netns attach "$LAB_HOSTNS" $$
  check
}

# check: the namespace holds only lo, the bridge and lab taps, and no route leaves 10.0.0.0/24
check() {
  local bad
  bad=$(nsip -o link show | awk -F': ' '{sub(/@.*/,"",$2); print $2}' | grep -vxE "lo|$LAB_BRIDGE|$LAB_REPL_BRIDGE|sstap[0-9]+|ssrep[0-9]+" || true)
  [ -z "$bad" ] || die "unexpected interfaces in netns $NS: $bad"
  bad=$(nsip -4 route show table all | grep -vE "^(local|broadcast) |^$LAB_LAN_PREFIX\.0/24 dev $LAB_BRIDGE |^$LAB_REPL_PREFIX\.0/24 dev $LAB_REPL_BRIDGE " || true)
  [ -z "$bad" ] || die "unexpected routes in netns $NS: $bad"
  [ "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || die "forwarding is on in netns $NS"
}

down() {
  require_root
  if ip netns list | awk '{print $1}' | grep -qx "$NS"; then ip netns del "$NS"; fi
  # only the name goes: the host's namespace itself lives on with the host's processes
  if [ -e "/run/netns/$LAB_HOSTNS" ]; then ip netns del "$LAB_HOSTNS"; fi
}

case ${1:-} in
  up) up ;; down) down ;; check) check ;;
  *) echo "usage: $0 up|down|check" >&2; exit 2 ;;
esac
