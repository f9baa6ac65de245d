#!/bin/bash
# lab/bmc.sh up NAME... | down [NAME...] | power NAME on|off|status | check NAME...
#
# One IPMI BMC per lab VM: OpenIPMI's ipmi_sim, run INSIDE the lab's network namespace, so its
# LAN side (IPMI 2.0 / lanplus, UDP 623 on 10.0.0.(100+X), the address net.sh puts on br0) is
# reachable from the lab's VMs and nothing else. The VM's qemu attaches the same BMC as its
# system interface (isa-ipmi-kcs + ipmi-bmc-extern), its chardev reaching ipmi_sim's VM-serial
# port (127.0.0.1:9000+X of the namespace) through $LAB_DIR/bmc/NAME/serial.sock, a socat of
# that namespace (a unix socket crosses namespaces, a TCP port does not).
#
# Power is the BMC's: "chassis power off" pulls the VM's plug at once (lab/bmc-power.sh kills
# its qemu), "on" boots it (lab/vm.sh start, in the host's namespace), "status" tells whether
# its qemu runs. This is what fence_ipmilan drives, from the VMs, with the lab's BMC user and
# the password that only the VMs' root-only password script (and $LAB_DIR/bmc) hold.
#
#   up NAME...      start the BMCs of these VMs (idempotent: a running BMC is left alone)
#   down [NAME...]  stop them (all without names); the VMs' power is not touched
#   power NAME on|off|status   through the BMC's LAN side, as an operator with ipmitool would
#   check NAME...   each BMC answers "power status" on its LAN address
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bdir() { echo "$LAB_DIR/bmc/$1"; }
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# ipmi NAME ARGS...: ipmitool against NAME's BMC from inside the lab namespace (cipher suite 3:
# ipmi_sim does not answer "get channel cipher suites", which costs ipmitool 10 s otherwise)
ipmi() {
  local n=$1; shift
  local pw; pw=$(bmc_password)
  # the password goes through a file, not argv (-f); ipmitool reads it from there
  local pf; pf=$(mktemp "$LAB_DIR/bmc/.pw.XXXXXX"); printf '%s\n' "$pw" >"$pf"
  local rc=0
  timeout 60 ip netns exec "$LAB_NETNS" ipmitool -I lanplus -C 3 -H "$(vm_bmc_ip "$n")" -U "$LAB_BMC_USER" -f "$pf" "$@" || rc=$?
  rm -f "$pf"
  return $rc
}

up_one() {
  local n=$1 d; d=$(bdir "$n")
  mkdir -p "$d/state"; chmod 700 "$LAB_DIR/bmc" "$d"
  if pid_alive "$d/sim.pid" && pid_alive "$d/socat.pid"; then return 0; fi
  down_one "$n"
  mkdir -p "$d/state"
  local port; port=$(vm_bmc_serial_port "$n")
  cat >"$d/lan.conf" <<CONF
# ipmi_sim of lab VM $n (written by lab/bmc.sh)
name "$n"
set_working_mc 0x20
  startlan 1
    addr $(vm_bmc_ip "$n") 623
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid $(printf '%032x' "$(vm_octet "$n")")
  endlan
  serial 15 127.0.0.1 $port codec VM
  chassis_control "$LAB_SRC/bmc-power.sh $n"
  user 2 true "$LAB_BMC_USER" "$(bmc_password)" admin 10 none md2 md5 straight
CONF
  chmod 600 "$d/lan.conf"
  cat >"$d/emu.cmd" <<'CMD'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
CMD
  rm -f "$d/serial.sock"
  export LAB_DIR LAB_NETNS LAB_HOSTNS   # for bmc-power.sh, which ipmi_sim runs
  # both live in the lab's namespace only (nsenter: the network, nothing else), in a session
  # of their own so that no terminal signal reaches them
  setsid nsenter --net="/run/netns/$LAB_NETNS" ipmi_sim -n -p -c "$d/lan.conf" -f "$d/emu.cmd" -s "$d/state" \
    </dev/null >>"$d/sim.log" 2>&1 9>&- & echo $! >"$d/sim.pid"
  setsid nsenter --net="/run/netns/$LAB_NETNS" socat "UNIX-LISTEN:$d/serial.sock,fork,unlink-early,mode=600" "TCP:127.0.0.1:$port" \
    </dev/null >>"$d/socat.log" 2>&1 9>&- & echo $! >"$d/socat.pid"
}

down_one() {
  local n=$1 d f; d=$(bdir "$n")
  for f in sim socat; do
    if pid_alive "$d/$f.pid"; then kill -TERM "$(cat "$d/$f.pid")" 2>/dev/null || true; wait_gone "$(cat "$d/$f.pid")" 5 || kill -KILL "$(cat "$d/$f.pid")" 2>/dev/null || true; fi
    rm -f "$d/$f.pid"
  done
  rm -f "$d/serial.sock"
}

# wait until every named BMC answers on its LAN address (ipmi_sim starts in well under a second)
check() {
  local n i out
  for n in "$@"; do
    for i in $(seq 1 50); do
      out=$(ipmi "$n" chassis power status 2>&1) && break
      sleep 0.2
    done
    case $out in "Chassis Power is "*) ;; *) die "the BMC of $n ($(vm_bmc_ip "$n")) does not answer: $out (log: $(bdir "$n")/sim.log)" ;; esac
    [ -S "$(bdir "$n")/serial.sock" ] || die "the BMC of $n has no serial socket $(bdir "$n")/serial.sock (log: $(bdir "$n")/socat.log)"
  done
}

cmd=${1:-}; shift || true
case $cmd in
  up)
    require_root; require_cmds ipmi_sim socat ipmitool nsenter
    [ -e "/run/netns/$LAB_NETNS" ] || die "netns $LAB_NETNS is missing (lab/net.sh up)"
    [ $# -gt 0 ] || die "usage: $0 up NAME..."
    for n in "$@"; do vm_octet "$n" >/dev/null; up_one "$n"; done
    check "$@" ;;
  down)
    if [ $# = 0 ]; then set -- $LAB_ALL_VMS; fi
    for n in "$@"; do down_one "$n"; done
    # BMCs whose pidfiles are lost: any ipmi_sim/socat naming a file under $LAB_DIR/bmc
    pkill -f -- "-c $LAB_DIR/bmc/" 2>/dev/null || true
    pkill -f -- "UNIX-LISTEN:$LAB_DIR/bmc/" 2>/dev/null || true ;;
  power)
    [ $# = 2 ] || die "usage: $0 power NAME on|off|status"
    vm_octet "$1" >/dev/null
    case $2 in on|off|status) ipmi "$1" chassis power "$2" ;; *) die "usage: $0 power NAME on|off|status" ;; esac ;;
  check) check "$@" ;;
  *) echo "usage: $0 up NAME... | down [NAME...] | power NAME on|off|status | check NAME..." >&2; exit 2 ;;
esac
