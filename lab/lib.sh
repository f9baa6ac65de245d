# lab/lib.sh — shared definitions for the scalestore test lab. Sourced, never run.
# shellcheck shell=bash disable=SC2034
#
# The topology lives here (and only here); lab/lab.toml and lab/lab-grow.toml are
# generated from it by lab/toml.sh and checked against it by the smoke test.
# All state lives outside the repository in $LAB_DIR.

LAB_DIR=${LAB_DIR:-/var/tmp/scalestore-lab}
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_NETNS=${LAB_NETNS:-scalestore-lab}        # network namespace holding the cluster LAN bridge
LAB_BRIDGE=br0                                # bridge inside $LAB_NETNS
LAB_LAN_PREFIX=10.0.0                         # cluster LAN 10.0.0.0/24, only inside $LAB_NETNS
LAB_REPL_BRIDGE=br1                           # second bridge inside $LAB_NETNS: DRBD replication only
LAB_REPL_PREFIX=10.0.1                        # replication link 10.0.1.0/24 (storage VMs' third NIC)
LAB_BMC_OFFSET=100                            # VM .X has its IPMI BMC (ipmi_sim) at $LAB_LAN_PREFIX.(100+X)
LAB_BMC_SERIAL_BASE=9000                      # ipmi_sim's VM-serial port (127.0.0.1 of $LAB_NETNS): 9000+X
LAB_HOSTNS=${LAB_HOSTNS:-$LAB_NETNS-host}     # a name for the host's own netns (a BMC powers a VM on from it)
LAB_SSH_PORT_BASE=2200                        # VM with LAN address .X answers ssh on 127.0.0.1:(2200+X)
LAB_DISK_MB=${LAB_DISK_MB:-64}                # size of each storage VM's empty data disk /dev/vdb
LAB_MEM_STORAGE=${LAB_MEM_STORAGE:-256}       # MiB
LAB_MEM_CLIENT=${LAB_MEM_CLIENT:-512}         # MiB (corosync locks ~170 MiB)
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-480}     # s per boot attempt until sshd answers (TCG, 8 VMs on 2 cores)
LAB_BOOT_RETRIES=${LAB_BOOT_RETRIES:-2}       # extra attempts after a failed boot
LAB_RESTORE_TIMEOUT=${LAB_RESTORE_TIMEOUT:-180}
LAB_SUITE=bookworm

LAB_SEED_VMS="storage0a storage0b storage1a storage1b client0 client1"
LAB_SPARE_VMS="storage2a storage2b client2"
LAB_ALL_VMS="$LAB_SEED_VMS $LAB_SPARE_VMS"

# vm_octet NAME: last octet of the VM's cluster LAN address (also picks its ssh port and MACs)
vm_octet() {
  case $1 in
    storage0a) echo 11 ;; storage0b) echo 12 ;;
    storage1a) echo 13 ;; storage1b) echo 14 ;;
    storage2a) echo 15 ;; storage2b) echo 16 ;;
    client0)   echo 21 ;; client1)   echo 22 ;; client2) echo 23 ;;
    *) die "unknown lab VM '$1' (known: $LAB_ALL_VMS)" ;;
  esac
}
vm_ip()   { echo "$LAB_LAN_PREFIX.$(vm_octet "$1")"; }
vm_port() { echo $((LAB_SSH_PORT_BASE + $(vm_octet "$1"))); }
vm_role() { case $1 in storage*) echo storage ;; client*) echo client ;; *) die "unknown lab VM '$1'" ;; esac; }
vm_mem()  { if [ "$(vm_role "$1")" = storage ]; then echo "$LAB_MEM_STORAGE"; else echo "$LAB_MEM_CLIENT"; fi; }
vm_dir()  { echo "$LAB_DIR/vms/$1"; }
vm_mac()  { printf '52:54:00:5c:%02x:%02x' "$2" "$(vm_octet "$1")"; }   # vm_mac NAME 0=mgmt|1=lan
vm_tap()  { echo "sstap$(vm_octet "$1")"; }
vm_repl_tap() { echo "ssrep$(vm_octet "$1")"; }                      # storage VMs: replication NIC's tap
vm_repl_ip()  { echo "$LAB_REPL_PREFIX.$(vm_octet "$1")"; }
vm_bmc_ip()   { echo "$LAB_LAN_PREFIX.$((LAB_BMC_OFFSET + $(vm_octet "$1")))"; }
vm_bmc_serial_port() { echo $((LAB_BMC_SERIAL_BASE + $(vm_octet "$1"))); }
# the BMCs' one admin user; its password is made once per lab and reaches the VMs only as a
# root-only password script (fence_ipmilan's password_script), never the spec
LAB_BMC_USER=admin
LAB_BMC_PASSWORD_SCRIPT=/etc/scalestore-lab/bmc-password
bmc_password() {
  mkdir -p "$LAB_DIR/bmc"; chmod 700 "$LAB_DIR/bmc"
  [ -s "$LAB_DIR/bmc/password" ] || (umask 077; tr -dc 'A-Za-z0-9' </dev/urandom | head -c 16 >"$LAB_DIR/bmc/password")
  cat "$LAB_DIR/bmc/password"
}

# ---- output helpers
_t0=${_t0:-$(date +%s.%N)}
log()  { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[lab %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# ---- preconditions: say clearly what is missing, never pass silently
require_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, taps); run as root"; }
require_cmds() {
  local c missing=
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
  [ -z "$missing" ] || die "missing host commands:$missing — run 'make lab-deps' (Debian 12 host)"
}
require_runtime() {
  require_root
  require_cmds qemu-system-x86_64 qemu-img ip ssh ssh-keygen python3 flock tar
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing: qemu cannot get a tap for the cluster LAN"
  # network namespaces must really work here (a container may forbid them)
  local probe="sslab-probe-$$"
  if ! ip netns add "$probe" 2>/tmp/lab-netns-probe.$$; then
    local err; err=$(cat /tmp/lab-netns-probe.$$); rm -f /tmp/lab-netns-probe.$$
    die "network namespaces are unavailable here ('ip netns add' failed: $err)"
  fi
  ip netns del "$probe"; rm -f /tmp/lab-netns-probe.$$
  qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || die "this qemu-system-x86_64 has no TCG accelerator"
}

# ---- one lab operation at a time (up/down/snapshot/restore/image)
lab_lock() {
  mkdir -p "$LAB_DIR"
  exec 9>"$LAB_DIR/lock"
  flock -w 900 9 || die "another lab operation holds $LAB_DIR/lock"
}

# ---- the lab's ssh client key
ensure_client_key() {
  mkdir -p "$LAB_DIR/ssh"; chmod 700 "$LAB_DIR/ssh"
  [ -s "$LAB_DIR/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C scalestore-lab -f "$LAB_DIR/ssh/id_ed25519"
}

# ssh options that every lab client uses: checked host keys, the lab key only, no prompts
lab_ssh_opts() {
  echo "-o BatchMode=yes -o IdentitiesOnly=yes -i $LAB_DIR/ssh/id_ed25519" \
       "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=$LAB_DIR/known_hosts -o GlobalKnownHostsFile=/dev/null" \
       "-o UpdateHostKeys=no -o CheckHostIP=no -o ConnectTimeout=${LAB_SSH_CONNECT_TIMEOUT:-10} -o ServerAliveInterval=10 -o ServerAliveCountMax=6 -o LogLevel=ERROR"
}
# vssh NAME CMD... : run CMD on a lab VM (host key checked against $LAB_DIR/known_hosts)
vssh() {
  local n=$1; shift
  # shellcheck disable=SC2046
  ssh $(lab_ssh_opts) -p "$(vm_port "$n")" root@127.0.0.1 "$@"
}

# rebuild known_hosts and ssh_config from the host keys of every VM that has a state dir
write_known_hosts() {
  local n kh="$LAB_DIR/known_hosts.tmp.$$" cf="$LAB_DIR/ssh_config.tmp.$$"
  : >"$kh"; : >"$cf"
  for n in $LAB_ALL_VMS; do
    [ -s "$(vm_dir "$n")/ssh_host_ed25519_key.pub" ] || continue
    printf '[127.0.0.1]:%s %s\n' "$(vm_port "$n")" "$(cut -d' ' -f1,2 "$(vm_dir "$n")/ssh_host_ed25519_key.pub")" >>"$kh"
  done
  for n in $LAB_ALL_VMS; do
    cat >>"$cf" <<EOF
Host $n
  HostName 127.0.0.1
  Port $(vm_port "$n")
  User root
  IdentityFile $LAB_DIR/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB_DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  LogLevel ERROR
EOF
  done
  mv -f "$kh" "$LAB_DIR/known_hosts"; mv -f "$cf" "$LAB_DIR/ssh_config"
}

# ---- qemu process bookkeeping
vm_pid() { local f; f="$(vm_dir "$1")/qemu.pid"; [ -s "$f" ] && cat "$f"; }
# vm_alive NAME: the pid in the pidfile is a live qemu of THIS VM (guards against pid reuse)
vm_alive() {
  local p; p=$(vm_pid "$1") || return 1
  [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- " guest=scalestore-lab-$1 "
}
# every qemu process on this machine that belongs to this lab (cmdline names a file under $LAB_DIR/vms)
lab_qemu_pids() {
  local d p
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ -r "$d/cmdline" ] || continue
    tr '\0' '\n' <"$d/cmdline" 2>/dev/null | head -1 | grep -q 'qemu-system' || continue
    tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- " guest=scalestore-lab-" || continue
    tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$LAB_DIR/vms/" && echo "$p"
  done
}
# kill_strays [NAME...]: TERM/KILL every qemu of this lab (only those of NAMEs, if given)
# that no pidfile knows about any more
kill_strays() {
  local p want
  for p in $(lab_qemu_pids); do
    if [ $# -gt 0 ]; then
      want=0
      for n in "$@"; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- " guest=scalestore-lab-$n " && want=1; done
      [ $want = 1 ] || continue
    fi
    log "killing stray lab qemu pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -o 'guest=[^ ]*'))"
    kill -TERM "$p" 2>/dev/null || true
    wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null || true
    wait_gone "$p" 5 || true
  done
}
qmp() { python3 "$LAB_SRC/qmp.py" "$@"; }   # qmp SOCKET COMMAND [JSON-ARGS] [--timeout S]

# wait_gone PID SECONDS
wait_gone() {
  local p=$1 i
  for ((i = 0; i < $2 * 10; i++)); do [ -d "/proc/$p" ] || return 0; sleep 0.1; done
  return 1
}
# vm_kill NAME: stop a VM's qemu for sure (QMP quit, then TERM, then KILL)
vm_kill() {
  local n=$1 p d; d=$(vm_dir "$n")
  vm_alive "$n" || { rm -f "$d/qemu.pid"; return 0; }
  p=$(vm_pid "$n")
  [ -S "$d/qmp.sock" ] && qmp "$d/qmp.sock" quit --timeout 5 >/dev/null 2>&1 || true
  wait_gone "$p" 5 || { kill -TERM "$p" 2>/dev/null; wait_gone "$p" 5; } || { kill -KILL "$p" 2>/dev/null; wait_gone "$p" 5; } ||
    die "qemu pid $p of $n does not die"
  rm -f "$d/qemu.pid"
}

# console tail of a VM, for failure reports
console_tail() {
  local f; f="$(vm_dir "$1")/console.log"
  if [ -s "$f" ]; then
    echo "----- last ${2:-40} lines of $1's serial console ($f)" >&2
    tail -n "${2:-40}" "$f" | tr -d '\r' | sed "s/^/  $1| /" >&2
  else
    echo "----- $1: no console output ($f)" >&2
  fi
}

# selected VMs: names on the command line, else the seed (+ spares with LAB_SPARES=1)
select_vms() {
  if [ $# -gt 0 ]; then
    local n; for n in "$@"; do vm_octet "$n" >/dev/null; done
    echo "$*"
  elif [ "${LAB_SPARES:-0}" = 1 ]; then echo "$LAB_ALL_VMS"
  else echo "$LAB_SEED_VMS"
  fi
}
running_vms() { local n; for n in $LAB_ALL_VMS; do vm_alive "$n" && echo "$n"; done; true; }

# set_guest_clock NAME: guest wall clock := host wall clock. The host's time is sent only once
# the remote shell is waiting for it, so the ssh handshake does not make the guest lag.
set_guest_clock() {
  local n=$1 err
  # shellcheck disable=SC2046
  err=$(timeout 120 python3 "$LAB_SRC/setclock.py" ssh $(lab_ssh_opts) -p "$(vm_port "$n")" root@127.0.0.1 2>&1) ||
    { log "$n: could not set the clock: $err"; return 1; }
}
