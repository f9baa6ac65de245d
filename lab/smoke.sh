#!/bin/bash
# lab/smoke.sh — end-to-end check of the lab itself (what CI runs until `scalestore apply` exists):
#   preflight (root, qemu, TCG, network namespaces, /dev/net/tun) -> image (cached) -> spec check
#   -> fresh lab-up -> strict host-key checks (and that a wrong key is refused) -> on every VM:
#   hostname, stack modules load, stack tools exist, stack services off, data disk, no default
#   route -> cluster LAN (storage0a pings every VM; nothing of it in the host namespace)
#   -> snapshot + restore (LAB_SMOKE_SNAPSHOT=0 skips it) -> lab-down, no qemu left.
# Prints each phase's time and "N passed, N failed". Exits non-zero on any failure, with the
# failing command's output. LAB_KEEP=1 leaves the lab running after a failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PASS=0; FAIL=0; PHASES=(); T_ALL=$(now)
ok()   { PASS=$((PASS + 1)); printf '  ok    %s\n' "$*"; }
bad()  { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$*"; }
phase_start() { PH_NAME=$1; PH_T=$(now); echo "== $1"; }
phase_end()   { local s; s=$(since "$PH_T"); PHASES+=("$(printf '%-34s %7ss' "$PH_NAME" "$s")"); echo "   ($PH_NAME: ${s}s)"; }
summary() {
  echo "== phase times"
  local p; for p in "${PHASES[@]}"; do echo "   $p"; done
  echo "   $(printf '%-34s %7ss' total "$(since "$T_ALL")")"
  echo "smoke: $PASS passed, $FAIL failed"
}
abort() {   # fatal: report, tear down (unless LAB_KEEP=1), exit 1
  bad "$*"
  local n
  for n in $(running_vms); do console_tail "$n" 15; done
  if [ "${LAB_KEEP:-0}" = 1 ]; then echo "LAB_KEEP=1: leaving the lab running"; else bash "$LAB_SRC/down.sh" || true; fi
  summary
  exit 1
}
# run DESC CMD...: a check that must succeed; on failure show its output
run() {
  local desc=$1 out; shift
  if out=$("$@" 2>&1); then ok "$desc"; return 0; fi
  bad "$desc"; echo "$out" | sed 's/^/        | /'; return 1
}

trap 'echo "smoke: interrupted, stopping the lab"; bash "$LAB_SRC/down.sh"; exit 130' INT TERM

# ---------------------------------------------------------------- preflight
phase_start preflight
out=$( (require_runtime) 2>&1 ) || { echo "$out"; abort "preflight: the lab cannot run on this machine (see above)"; }
ok "root, qemu-system-x86_64 (TCG), qemu-img, /dev/net/tun, network namespaces, ssh"
phase_end

# ---------------------------------------------------------------- image
phase_start "image (cached when inputs unchanged)"
bash "$LAB_SRC/image.sh" || abort "image build failed"
ok "lab image ready: $(cat "$LAB_DIR/image/info" | head -1)"
run "lab.toml, lab-grow.toml and lab-join.toml match lib.sh's topology" bash "$LAB_SRC/toml.sh" check
phase_end

# ---------------------------------------------------------------- boot
phase_start "boot seed lab (fresh, parallel)"
bash "$LAB_SRC/down.sh" >/dev/null 2>&1 || abort "lab-down before boot failed"
bash "$LAB_SRC/up.sh" || abort "lab-up failed"
VMS=$(running_vms | tr '\n' ' ')
for n in $(select_vms); do vm_alive "$n" || abort "$n is not running after lab-up"; done
ok "VMs up: $VMS"
phase_end

# ---------------------------------------------------------------- host keys
phase_start "ssh host keys (strict)"
bogus=$(mktemp -d)
ssh-keygen -q -t ed25519 -N '' -f "$bogus/k"
kh_lines=$(wc -l <"$LAB_DIR/known_hosts")
[ "$kh_lines" -eq "$(echo $VMS | wc -w)" ] && ok "known_hosts has one [127.0.0.1]:PORT key per VM ($kh_lines)" ||
  bad "known_hosts has $kh_lines lines for $(echo $VMS | wc -w) VMs"
for n in $VMS; do
  got=$(ssh-keyscan -t ed25519 -p "$(vm_port "$n")" 127.0.0.1 2>/dev/null | awk '{print $2, $3}')
  want=$(cut -d' ' -f1,2 "$(vm_dir "$n")/ssh_host_ed25519_key.pub")
  [ -n "$got" ] && [ "$got" = "$want" ] && ok "$n serves the host key generated for it" || bad "$n serves '$got', expected '$want'"
done
# strict checking must refuse a wrong key and an unknown host
n=${VMS%% *}
printf '[127.0.0.1]:%s %s\n' "$(vm_port "$n")" "$(cut -d' ' -f1,2 "$bogus/k.pub")" >"$bogus/known_hosts_wrong"
: >"$bogus/known_hosts_empty"
for kh in wrong empty; do
  # shellcheck disable=SC2046
  if out=$(ssh $(lab_ssh_opts | sed "s#UserKnownHostsFile=[^ ]*#UserKnownHostsFile=$bogus/known_hosts_$kh#") \
             -p "$(vm_port "$n")" root@127.0.0.1 true 2>&1); then
    bad "ssh to $n with a $kh known_hosts was NOT refused"
  elif grep -q "Host key verification failed" <<<"$out"; then
    ok "ssh to $n with a $kh known_hosts is refused (Host key verification failed)"
  else
    bad "ssh to $n with a $kh known_hosts failed for another reason: $out"
  fi
done
rm -rf "$bogus"
phase_end

# ---------------------------------------------------------------- per-VM checks
phase_start "stack modules, tools, services on every VM"
check_vm() {   # the check runs inside the VM; prints what is wrong, exits non-zero if anything is
  local n=$1 role; role=$(vm_role "$n")
  vssh "$n" NAME="$n" ROLE="$role" LANIP="$(vm_ip "$n")" DISK_BYTES=$((LAB_DISK_MB * 1024 * 1024)) bash -s <<'EOF'
set -u; fail=0; T_START=$(date +%s)
no() { echo "$*"; fail=1; }
[ "$(hostname)" = "$NAME" ] || no "hostname is $(hostname), expected $NAME"
for m in drbd target_core_mod target_core_iblock iscsi_target_mod iscsi_tcp dm_multipath dlm gfs2; do
  out=$(modprobe "$m" 2>&1) || no "modprobe $m: $out"
  grep -q "^$m " /proc/modules || no "module $m not loaded after modprobe"
done
for t in drbdadm drbdsetup targetcli iscsiadm multipath multipathd corosync corosync-quorumtool \
         dlm_controld dlm_tool lvm lvmlockd mkfs.gfs2 gfs2_grow gfs2_jadd sg_vpd lsscsi fence_ipmilan ipmitool; do
  command -v "$t" >/dev/null || no "tool $t missing"
done
for u in $(cat /etc/scalestore-lab/stack-units); do
  st=$(systemctl is-enabled "$u" 2>/dev/null); case $st in enabled|enabled-runtime) no "$u is enabled at boot";; esac
  systemctl is-active -q "$u" && no "$u is running"
done
[ -z "$(ip route show default)" ] || no "a default route exists: $(ip route show default)"
ip -4 -o addr show | grep -q " $LANIP/24 " || no "cluster LAN address $LANIP/24 missing"
if [ "$ROLE" = storage ]; then
  [ -b /dev/vdb ] || no "no data disk /dev/vdb"
  [ "$(blockdev --getsize64 /dev/vdb 2>/dev/null)" = "$DISK_BYTES" ] || no "/dev/vdb is $(blockdev --getsize64 /dev/vdb) bytes, expected $DISK_BYTES"
  [ -z "$(blkid -p /dev/vdb 2>/dev/null)" ] || no "/dev/vdb is not empty: $(blkid -p /dev/vdb)"
else
  [ ! -e /dev/vdb ] || no "client has an unexpected /dev/vdb"
fi
echo "guest-clock $T_START"
[ $fail = 0 ] && echo "all good: $(uname -r), $(cat /etc/machine-id)"
exit $fail
EOF
}
declare -A CPID
tmpd=$(mktemp -d)
for n in $VMS; do ( date +%s >"$tmpd/$n.t0"; check_vm "$n" >"$tmpd/$n" 2>&1; rc=$?; date +%s >"$tmpd/$n.t1"; exit $rc ) & CPID[$n]=$!; done
for n in $VMS; do
  if wait "${CPID[$n]}"; then ok "$n: modules load, tools present, stack services off, LAN address, disk ($(grep '^all good' "$tmpd/$n" | cut -d: -f2 | cut -d, -f1 | tr -d ' '))"
  else bad "$n"; grep -v '^guest-clock ' "$tmpd/$n" | sed 's/^/        | /'; fi
  # the guest read its clock while our ssh ran: it must lie in [t0, t1] (2 s slack)
  g=$(sed -n 's/^guest-clock //p' "$tmpd/$n"); t0=$(cat "$tmpd/$n.t0"); t1=$(cat "$tmpd/$n.t1")
  if [ -n "$g" ] && [ "$g" -ge $((t0 - 2)) ] && [ "$g" -le $((t1 + 2)) ]; then ok "$n: guest clock matches the host"
  else bad "$n: guest clock ${g:-?} outside the host's [$t0, $t1]"; fi
done
ids=$(for n in $VMS; do grep '^all good' "$tmpd/$n" | awk -F', ' '{print $2}'; done | sort | uniq -d)
[ -z "$ids" ] && ok "machine-ids are unique" || bad "duplicate machine-ids: $ids"
rm -rf "$tmpd"
phase_end

# ---------------------------------------------------------------- cluster LAN
phase_start "cluster LAN (inside netns $LAB_NETNS)"
src=storage0a; vm_alive "$src" || src=${VMS%% *}
for n in $VMS; do
  [ "$n" = "$src" ] && continue
  run "$src pings $n ($(vm_ip "$n")) on the cluster LAN" vssh "$src" "ping -c 2 -i 0.3 -W 3 $(vm_ip "$n") >/dev/null && ping -c 1 -W 3 $n >/dev/null"
done
run "client1 pings storage0a back" vssh client1 "ping -c 2 -i 0.3 -W 3 $(vm_ip storage0a)"
# the replication link: its own bridge, storage VMs only
for p in "storage0a storage0b" "storage1a storage1b"; do
  set -- $p
  vm_alive "$1" && vm_alive "$2" || continue
  run "$1 pings $2 ($(vm_repl_ip "$2")) on the replication link" vssh "$1" "ping -c 2 -i 0.3 -W 3 $(vm_repl_ip "$2") >/dev/null"
done
# the BMCs: each answers on its LAN address, and a VM's fence_ipmilan reads another's power
# through it (the password only from the VM's root-only password script)
# shellcheck disable=SC2086
run "every VM's BMC answers on its LAN address ($LAB_LAN_PREFIX.1XX)" bash "$LAB_SRC/bmc.sh" check $VMS
if vm_alive storage0a && vm_alive storage0b; then
  run "storage0a's fence_ipmilan reads storage0b's power (on) through its BMC" vssh storage0a \
    "printf 'action=status\nip=$(vm_bmc_ip storage0b)\nusername=$LAB_BMC_USER\npassword_script=$LAB_BMC_PASSWORD_SCRIPT\nlanplus=1\ncipher=3\n' | fence_ipmilan 2>/dev/null | grep -qx 'Status: ON'"
fi
run "netns holds only lo, $LAB_BRIDGE, lab taps; no route out; no forwarding" bash "$LAB_SRC/net.sh" check
taps=$(ip -n "$LAB_NETNS" -o link show master "$LAB_BRIDGE" | grep -c sstap)
[ "$taps" = "$(echo $VMS | wc -w)" ] && ok "one tap per VM on $LAB_BRIDGE ($taps)" || bad "$taps taps on $LAB_BRIDGE for $(echo $VMS | wc -w) VMs"
if ip -o link show | grep -q sstap || ip -4 route show | grep -q "^$LAB_LAN_PREFIX\."; then
  bad "lab taps or a $LAB_LAN_PREFIX.0/24 route exist in the host namespace"
else ok "no lab tap and no $LAB_LAN_PREFIX.0/24 route in the host namespace"; fi
nbad=0
for n in $VMS; do
  c=$(tr '\0' ' ' <"/proc/$(vm_pid "$n")/cmdline")
  grep -q "restrict=on" <<<"$c" && ! grep -Eq "hostfwd=tcp:(0\.0\.0\.0)?:|guestfwd" <<<"$c" || { nbad=1; bad "$n: qemu user-net is not restricted to a 127.0.0.1 hostfwd"; }
done
[ $nbad = 0 ] && ok "every qemu user-net is restrict=on with only a 127.0.0.1 hostfwd"
phase_end

# ---------------------------------------------------------------- optional snapshot/restore
if [ "${LAB_SMOKE_SNAPSHOT:-1}" = 1 ]; then
  phase_start "snapshot + restore"
  vssh client1 'touch /root/after-snapshot' 2>/dev/null
  if bash "$LAB_SRC/snapshot.sh" smoke; then ok "lab-snapshot smoke"; else bad "lab-snapshot smoke"; fi
  vssh client1 'touch /root/after-snapshot-2'
  if bash "$LAB_SRC/restore.sh" smoke; then ok "lab-restore smoke"; else bad "lab-restore smoke"; fi
  run "restore discarded changes made after the snapshot" vssh client1 'test -e /root/after-snapshot && test ! -e /root/after-snapshot-2'
  rm -rf "$LAB_DIR/snapshots/smoke"
  phase_end
fi

# ---------------------------------------------------------------- teardown
phase_start "lab-down"
if [ $FAIL -gt 0 ] && [ "${LAB_KEEP:-0}" = 1 ]; then
  echo "LAB_KEEP=1 and checks failed: leaving the lab running"
else
  run "lab-down" bash "$LAB_SRC/down.sh"
  left=$(lab_qemu_pids)
  [ -z "$left" ] && ok "no lab qemu process left" || bad "lab qemu processes left: $left"
  ip netns list | grep -qw "$LAB_NETNS" && bad "netns $LAB_NETNS still exists" || ok "netns $LAB_NETNS removed"
fi
phase_end
summary
[ $FAIL = 0 ]
