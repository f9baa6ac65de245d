#!/bin/bash
# e2e/e2e.sh — scalestore end to end on the lab's real Debian 12 VMs (make e2e).
#
#  1. apply builds the seed topology from nothing
#  2. data written on client0 reads back byte-exact on client1, and the reverse
#  3. a second apply changes nothing (and its time is a small share of the first); the wizard's
#     run screen takes 200 000 lines that storage0a prints, and its run log keeps every one
#  F. fencing (every VM has an IPMI BMC, lab/bmc.sh; the spec's agent is fence_ipmilan):
#     preflight refuses a host whose fence target's BMC does not answer, naming it
#  4. storage0a is killed while client0 writes: storage0b fences it (confirmed off through its
#     BMC) and the writes go on, data intact; powered on through its BMC it rejoins by itself
#     (boot unit: resync, then primary, then export; the kernel log proves the order); apply then
#     changes nothing
#  C. pair 0's replication link is cut (its own bridge) while both clients write, each through
#     another half: exactly one half (the b-half) is fenced, the writes go on with no error, a
#     file written on each client during the cut reads back byte-exact on the other; powered on,
#     the fenced half rejoins by itself and DRBD's online verify finds 0 blocks out of sync
#  5. preflight refuses a spare disk holding a filesystem, untouched; then storage2a/2b are
#     added and apply grows VG0, LV0 and the mounted GFS2 online (interrupted once with Ctrl-C
#     on the way, then resumed); the earlier files are intact
#  6. real outputs of the commands scalestore parses are captured into $OUT/captures/
#     (E2E_CAPTURES=steps/testdata/captures refreshes the unit tests' fixtures: a plain run
#     leaves the tree as it was), and what the plan's probes read on blank and built hosts
#     (probes-*.txt, by e2e/probecapture)
#  7. client2 is added: it gets a journal online (gfs2_jadd: none was spare), corosync goes from
#     two nodes to three, and client2 mounts and shares the files
#  8. client1 reboots: it leaves the cluster cleanly (client0 keeps using GFS2) and comes back
#     mounted by its own boot units (scalestore-lv.service, fstab), without apply
#  L. client1's cluster LAN is cut while client0 writes: dlm fences client1 through its BMC
#     (fence_ipmilan reboots it), client0's writes go on; client1 boots and remounts by itself
#
# Prints each phase's time; exits non-zero on the first failure with the failing output.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB_DIR=${LAB_DIR:-/var/tmp/scalestore-lab}
export LAB_DIR
BIN=$ROOT/scalestore
SPEC=lab/lab.toml
GROW=lab/lab-grow.toml
JOIN=lab/lab-join.toml
OUT=${E2E_OUT:-$LAB_DIR/e2e}
CAP=${E2E_CAPTURES:-$OUT/captures}
mkdir -p "$OUT"
T0=$(date +%s.%N); TP=$T0
declare -a TIMES=()

say()   { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail()  { printf '[e2e %s] FAIL: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
phase() { local now; now=$(date +%s.%N); TIMES+=("$(printf '%-58s %6.1f s' "$1" "$(echo "$now - $TP" | bc)")"); say "phase done: $1 ($(echo "$now - $TP" | bc | cut -c1-6) s)"; TP=$now; }
on()    { bash lab/ssh.sh "$@"; }
run_apply() {  # run_apply LOGNAME SPEC [extra args]: apply, its output kept; fails the test on error
  local name=$1 log=$OUT/$1.log spec=$2; shift 2
  say "scalestore apply -f $spec --yes $*"
  if ! "$BIN" apply -f "$spec" --yes "$@" >"$log" 2>&1; then
    tail -40 "$log" >&2; fail "apply ($name) failed; full log $log"
  fi
  grep -E ' (done|stopped): ' "$log" | tail -1
}

labip() { bash -c '. lab/lib.sh; vm_ip "$1"' _ "$1"; }                     # a VM's cluster LAN address
qmp_vm() { python3 lab/qmp.py "$LAB_DIR/vms/$1/qmp.sock" "${@:2}"; }   # qmp_vm VM COMMAND [JSON]
power() { bash lab/bmc.sh power "$1" status 2>&1 | sed -n 's/^Chassis Power is //p'; }    # on|off, through the BMC
# writers: each write appends "N TIME" (the VM's clock) to /root/wlog once done; the longest
# gap between two writes is the stall that client's applications saw
# (start_writer HOST new: each write creates a new file, so it needs the directory's lock, which
# the other clients share, rather than locks the writer holds already)
start_writer() {
  local name='\$((i%8))'
  [ "${2:-}" = new ] && name='n\$i'
  on "$1" 'rm -f /root/stop /root/werr /root/wlog /mnt/gfs2/w-$(hostname).n*; nohup sh -c "i=0; while [ ! -e /root/stop ]; do i=\$((i+1)); dd if=/dev/urandom of=/mnt/gfs2/w-$(hostname).'"$name"' bs=64k count=4 oflag=direct status=none || echo ERR \$i >> /root/werr; echo \$i \$(date +%s.%N) >> /root/wlog; done" >/dev/null 2>&1 &'
}
writes() { on "$1" 'cat /root/wlog 2>/dev/null | wc -l'; }
wait_writes() {  # wait_writes HOST N SECONDS WHAT: until HOST's writer has done N writes
  local i
  for i in $(seq 1 "$3"); do [ "$(writes "$1")" -ge "$2" ] && return 0; sleep 1; done
  fail "$4 (the writer on $1 did $(writes "$1") writes, want $2 within $3 s)"
}
stop_writer() { on "$1" 'touch /root/stop'; }
write_errors() { on "$1" 'cat /root/werr 2>/dev/null | wc -l'; }
stall() {  # stall HOST FROM: the longest gap between two of HOST's writes from write FROM on
  on "$1" "awk -v from=$2 'NR >= from { if (prev && \$2 - prev > max) max = \$2 - prev; prev = \$2 } END { printf \"%.2f\", max }' /root/wlog"
}
wait_ssh() {  # wait_ssh VM SECONDS
  local i
  for i in $(seq 1 "$2"); do on "$1" true 2>/dev/null && return 0; sleep 1; done
  fail "$1 does not answer ssh within $2 s"
}
wait_rejoined() {  # wait_rejoined HALF SECONDS: its boot unit brought it back (resynced, primary, exported)
  local i st
  for i in $(seq 1 "$2"); do
    st=$(on "$1" 'systemctl is-active scalestore-drbd.service' 2>/dev/null || true)
    [ "$st" = active ] && return 0
    [ "$st" = failed ] && break
    sleep 1
  done
  on "$1" 'journalctl -b -u scalestore-drbd.service --no-pager | tail -20; cat /proc/drbd' >&2 || true
  fail "$1 did not rejoin by itself (scalestore-drbd.service: ${st:-no answer})"
}
wait_fenced() {  # wait_fenced HALF PEER: HALF's fence-peer handler logged PEER fenced (confirmed off)
  # (the BMC says off as soon as the agent's "off" lands; the handler confirms with "status" after)
  local i log=$OUT/fence-$1.log
  for i in $(seq 1 120); do
    on "$1" 'journalctl -t scalestore --no-pager' >"$log" 2>&1 || true
    grep -q "fence-peer r0 on $1: $2 is fenced" "$log" && return 0
    sleep 1
  done
  cat "$log"; fail "$1 went on without fencing $2 (its fence-peer handler did not confirm it off)"
}
wait_healthy() {  # wait_healthy SPEC LOG SECONDS: status says every layer is healthy
  local i
  for i in $(seq 1 "$3"); do "$BIN" status -f "$1" >"$2" 2>&1 && return 0; sleep 1; done
  cat "$2"; fail "status is not healthy within $3 s ($2)"
}

# the lab goes down at the end, pass or fail (E2E_KEEP=1 leaves it up to look at)
trap '[ "${E2E_KEEP:-0}" = 1 ] || bash lab/down.sh >/dev/null 2>&1 || true' EXIT

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed: run 'make deps' (the e2e test needs the lab)"
ip netns list >/dev/null 2>&1 || fail "network namespaces are not available here (ip netns): the lab cannot run"
[ "$(id -u)" = 0 ] || fail "the e2e test needs root (the lab uses network namespaces and taps)"

say "building scalestore"
go build -o "$BIN" . || fail "go build"

# ---- a clean lab: from the snapshot when there is one, else boot fresh
make -s lab-image
bash lab/down.sh >/dev/null 2>&1 || true
if [ -z "${E2E_FRESH:-}" ] && bash lab/restore.sh >/dev/null 2>&1; then
  say "lab restored from snapshot"
else
  bash lab/up.sh || fail "lab did not come up"
fi
phase "lab up (6 VMs ssh-ready)"

# ---- 1. apply from nothing
T1S=$(date +%s.%N)
run_apply apply-1 "$SPEC"
T_FIRST=$(echo "$(date +%s.%N) - $T1S" | bc)
grep -qE 'pass +cluster +data +4 MiB written on client0 read back byte-exact' "$OUT/apply-1.log" || { tail -30 "$OUT/apply-1.log"; fail "postflight data check did not pass"; }
grep -E '^\S+ +[0-9]+ changed, [0-9]+ unchanged \(' "$OUT/apply-1.log" >/dev/null || true
phase "apply from nothing"

# ---- F. preflight refuses a fence target whose BMC does not answer, naming the host
sed 's/^storage1b = { ip = "[0-9.]*" }/storage1b = { ip = "10.0.0.199" }/' "$SPEC" >"$OUT/lab-bad-bmc.toml"
grep -q '10.0.0.199' "$OUT/lab-bad-bmc.toml" || fail "could not write a spec with a wrong BMC address"
set +e; "$BIN" check -f "$OUT/lab-bad-bmc.toml" >"$OUT/check-bad-bmc.log" 2>&1; rc=$?; set -e
[ $rc != 0 ] || { cat "$OUT/check-bad-bmc.log"; fail "check passed with storage1b's BMC at an address nothing answers"; }
grep -E 'FAIL +storage1a +fence storage1b' "$OUT/check-bad-bmc.log" || { cat "$OUT/check-bad-bmc.log"; fail "check does not say that storage1a cannot reach storage1b's fence target"; }
say "preflight refused a fence target that does not answer (exit $rc)"
phase "preflight refuses an unreachable BMC"

# ---- 2. data both ways
on client0 'head -c 8M /dev/urandom > /mnt/gfs2/from-client0 && sync && sha256sum < /mnt/gfs2/from-client0' > "$OUT/sum0"
on client1 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "8 MiB written on client0 read back different on client1"
on client1 'head -c 8M /dev/urandom > /mnt/gfs2/from-client1 && sync && sha256sum < /mnt/gfs2/from-client1' > "$OUT/sum1"
on client0 'sha256sum < /mnt/gfs2/from-client1' | cmp -s - "$OUT/sum1" || fail "8 MiB written on client1 read back different on client0"
say "8 MiB each way: byte-exact"
phase "data client0 <-> client1"

# ---- 3. second apply changes nothing
T2S=$(date +%s.%N)
run_apply apply-2 "$SPEC"
T_SECOND=$(echo "$(date +%s.%N) - $T2S" | bc)
grep -qE 'done: 0 changed' "$OUT/apply-2.log" || { grep -E '\] changed:' "$OUT/apply-2.log" | head; fail "the second apply changed something"; }
say "second apply: 0 changed, $T_SECOND s (first: $T_FIRST s)"
grep -h '^took ' "$OUT/apply-1.log" "$OUT/apply-2.log" || true
phase "second apply: 0 changed"

# ---- the wizard keeps up with a flood: storage0a prints 200 000 lines over SSH in a scratch
# step (not the product's plan); the run screen shows the last one, the run log holds them all
SCALESTORE_LAB_SPEC=$ROOT/$SPEC go test -count=1 -run TestFloodOnTheLab -v ./ui > "$OUT/flood.log" 2>&1 \
  || { tail -30 "$OUT/flood.log"; fail "the wizard did not show storage0a's 200 000 lines, or its run log lost some"; }
grep -q -- '--- PASS: TestFloodOnTheLab' "$OUT/flood.log" || { tail -30 "$OUT/flood.log"; fail "TestFloodOnTheLab did not run"; }
grep -o '[0-9]* lines from storage0a through the wizard in .*' "$OUT/flood.log"
phase "wizard: 200 000 lines from storage0a shown, all in its run log"
"$BIN" status -f "$SPEC" > "$OUT/status-1.log" 2>&1 || { cat "$OUT/status-1.log"; fail "status reports a degraded cluster after apply"; }

# ---- 6 (first half). captures of a healthy cluster for the parsers' tests
mkdir -p "$CAP"
for h in storage0a client0; do
  role=storage; [ "${h#client}" != "$h" ] && role=client
  on $h "$(go run ./e2e/statescript $role)" > "$CAP/state-$h-healthy.txt"
done
on client0 'iscsiadm -m session; echo; multipath -ll; echo; corosync-quorumtool -s; echo; dlm_tool ls; echo; lvs --reportformat json -o vg_name,lv_name,lv_attr,lv_size --units b --nosuffix; findmnt -J -t gfs2 -o TARGET,SOURCE,FSTYPE' > "$CAP/client0-layers.txt" 2>&1 || fail "capture of client0's layers failed: $CAP/client0-layers.txt"
phase "captures of the healthy cluster"

# ---- 4. a half dies: kill storage0a under writes; storage0b fences it and goes on
say "client0 writes to GFS2 while storage0a is killed"
start_writer client0
wait_writes client0 5 120 "the writer on client0 did not start writing"
before=$(writes client0)
pid=$(cat "$LAB_DIR/vms/storage0a/qemu.pid")
kill -9 "$pid"
say "storage0a killed (qemu pid $pid) after $before writes"
wait_writes client0 $((before + 20)) 240 "writes stopped after storage0a died"
stop_writer client0
errs=$(write_errors client0)
STALL_HALF_KILLED=$(stall client0 "$before")
say "writes: $before before the kill, $(writes client0) in all, $errs errors; longest write stall while storage0a was down: $STALL_HALF_KILLED s"
[ "$errs" = 0 ] || fail "$errs writes failed while storage0a was down"
wait_fenced storage0b storage0a
[ "$(power storage0a)" = off ] || fail "storage0a's BMC does not say it is off"
on client0 'multipath -ll' > "$OUT/multipath-degraded.txt" 2>&1 || fail "multipath -ll failed on client0"
cp "$OUT/multipath-degraded.txt" "$CAP/multipath-ll-one-path-down.txt"
set +e; "$BIN" status -f "$SPEC" > "$OUT/status-degraded.log" 2>&1; rc=$?; set -e
[ $rc = 1 ] || { cat "$OUT/status-degraded.log"; fail "status exited $rc while storage0a is down, want 1 (degraded)"; }
grep -qE 'UNKNOWN +storage0a +ssh' "$OUT/status-degraded.log" || { cat "$OUT/status-degraded.log"; fail "status does not say storage0a's state is unknown"; }
grep -qE 'warn +client0 +mpath0 +only 1 of 2 paths' "$OUT/status-degraded.log" || { cat "$OUT/status-degraded.log"; fail "status does not show client0's mpath0 on one path"; }
phase "a half dies: storage0b fenced it (confirmed off), writes went on"

say "storage0a is powered on through its BMC; it must rejoin by itself"
bash lab/bmc.sh power storage0a on >/dev/null || fail "storage0a's BMC did not power it on"
wait_ssh storage0a 300
on storage0a "date -s @$(date +%s) >/dev/null"
wait_rejoined storage0a 300
# the safe order, from what DRBD itself logged on storage0a since its boot: its disk was
# UpToDate before it became primary (DRBD would let an Inconsistent SyncTarget become primary)
on storage0a 'dmesg' | grep -E 'drbd0|r0' > "$OUT/dmesg-rejoin.txt" || fail "no DRBD kernel messages on storage0a"
awk '/disk\( [A-Za-z]+ -> UpToDate \)/ && !u {u=NR} /role\( Secondary -> Primary \)/ && !p {p=NR} END { if (!(u && p && u < p)) exit 1 }' "$OUT/dmesg-rejoin.txt" \
  || { cat "$OUT/dmesg-rejoin.txt" >&2; fail "storage0a became primary before its disk was UpToDate (kernel log)"; }
on storage0a 'journalctl -b -t scalestore --no-pager' > "$OUT/rejoin-storage0a.log" 2>&1 || true
grep -q 'rejoin r0: connected, UpToDate, primary and exported' "$OUT/rejoin-storage0a.log" || { cat "$OUT/rejoin-storage0a.log"; fail "storage0a's boot unit did not say it rejoined"; }
wait_healthy "$SPEC" "$OUT/status-2.log" 120
run_apply apply-rejoin "$SPEC"
grep -qE 'done: 0 changed' "$OUT/apply-rejoin.log" || { grep -E '\] changed:' "$OUT/apply-rejoin.log" | head; fail "apply after storage0a rejoined by itself still changed something"; }
on client0 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "data changed across the failover"
phase "storage0a rejoined by itself: sync → primary → export; apply: 0 changed"

# ---- C. pair 0's replication link is cut while both clients write, each through another half
# use_path CLIENT MAP IP OTHER: make the path to IP the active one of CLIENT's MAP, with the
# path to OTHER (the pair's other half) kept as the standby. multipathd's "switchgroup" does not
# stick here: with equal priorities and failback immediate, multipathd switches back to the
# first group within a polling interval (seen on the lab). So the path to OTHER is logged out
# and in again, which makes it the second group.
use_path() {
  local dev i
  dev=$(on "$1" "basename \$(readlink -f /dev/disk/by-path/ip-$3:3260-iscsi-*-lun-0)")
  active() {  # the active group's path is dev
    on "$1" "dd if=/dev/mapper/$2 of=/dev/null bs=4k count=1 iflag=direct status=none"  # the kernel picks a group with the next I/O
    on "$1" "multipath -ll $2" | awk -v d=" $dev " '/policy=/{act = /status=active/} index($0, d) {exit !act}'
  }
  active "$@" && return 0
  on "$1" "iscsiadm -m node -p $4:3260 -u" >/dev/null || fail "$1: could not log out of $4"
  for i in $(seq 1 30); do [ "$(on "$1" "multipath -ll $2" | grep -c ' sd[a-z]* ')" = 1 ] && break; sleep 1; done
  on "$1" "iscsiadm -m node -p $4:3260 -l" >/dev/null || fail "$1: could not log in to $4 again"
  for i in $(seq 1 60); do [ "$(on "$1" "multipath -ll $2" | grep -c ' sd[a-z]* ')" = 2 ] && break; sleep 1; done
  for i in $(seq 1 30); do active "$@" && return 0; sleep 1; done
  on "$1" "multipath -ll $2" >&2; fail "$1: the path of $2 to $3 ($dev) did not become the active one"
}
use_path client0 mpath0 "$(labip storage0a)" "$(labip storage0b)"
use_path client1 mpath0 "$(labip storage0b)" "$(labip storage0a)"
say "client0 writes through storage0a, client1 through storage0b; cutting pair 0's replication link"
start_writer client0; start_writer client1
wait_writes client0 5 120 "the writer on client0 did not start writing"
wait_writes client1 5 120 "the writer on client1 did not start writing"
b0=$(writes client0); b1=$(writes client1)
qmp_vm storage0a set_link '{"name": "repl0", "up": false}' >/dev/null || fail "could not cut storage0a's replication link"
say "replication link of pair 0 cut (storage0a's repl0 down) after $b0 and $b1 writes"
# exactly one half is fenced: the a-half fences first, so storage0b goes off, and once it is
# off its own handler can no longer fence storage0a
for i in $(seq 1 240); do [ "$(power storage0b)" = off ] && break; [ "$(power storage0a)" = off ] && break; sleep 1; done
[ "$(power storage0a)" = on ] && [ "$(power storage0b)" = off ] \
  || fail "want storage0b fenced and storage0a on; their BMCs say storage0a $(power storage0a), storage0b $(power storage0b)"
wait_fenced storage0a storage0b
wait_writes client0 $((b0 + 20)) 240 "client0's writes stopped after the link was cut"
wait_writes client1 $((b1 + 20)) 240 "client1's writes stopped after the link was cut (its path went to the fenced half)"
# a file written on each client during the cut reads back byte-exact on the other
on client0 'head -c 4M /dev/urandom > /mnt/gfs2/cut-client0 && sync && sha256sum < /mnt/gfs2/cut-client0' > "$OUT/sum-cut0"
on client1 'head -c 4M /dev/urandom > /mnt/gfs2/cut-client1 && sync && sha256sum < /mnt/gfs2/cut-client1' > "$OUT/sum-cut1"
on client1 'sha256sum < /mnt/gfs2/cut-client0' | cmp -s - "$OUT/sum-cut0" || fail "a file written on client0 during the cut reads back different on client1"
on client0 'sha256sum < /mnt/gfs2/cut-client1' | cmp -s - "$OUT/sum-cut1" || fail "a file written on client1 during the cut reads back different on client0"
stop_writer client0; stop_writer client1
e0=$(write_errors client0); e1=$(write_errors client1)
STALL_CUT_0=$(stall client0 "$b0"); STALL_CUT_1=$(stall client1 "$b1")
say "writes during the cut: client0 $e0 errors, longest stall $STALL_CUT_0 s; client1 $e1 errors, longest stall $STALL_CUT_1 s"
[ "$e0" = 0 ] && [ "$e1" = 0 ] || fail "writes failed during the cut (client0 $e0, client1 $e1)"
phase "replication link cut: storage0b fenced, writes went on, no divergence"

say "the link is repaired and storage0b powered on through its BMC; it must rejoin by itself"
qmp_vm storage0a set_link '{"name": "repl0", "up": true}' >/dev/null || fail "could not repair storage0a's replication link"
bash lab/bmc.sh power storage0b on >/dev/null || fail "storage0b's BMC did not power it on"
wait_ssh storage0b 300
on storage0b "date -s @$(date +%s) >/dev/null"
wait_rejoined storage0b 300
wait_healthy "$SPEC" "$OUT/status-cut.log" 120
# online verify: both halves compared block by block, none may differ
on storage0a 'drbdadm verify r0' || fail "drbdadm verify r0 did not start on storage0a"
for i in $(seq 1 300); do
  on storage0a 'cat /proc/drbd' > "$OUT/proc-drbd-verify.txt"
  grep -qE '^ *0: cs:Verify' "$OUT/proc-drbd-verify.txt" || break
  sleep 1
done
grep -qE '^ *0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' "$OUT/proc-drbd-verify.txt" || { cat "$OUT/proc-drbd-verify.txt"; fail "r0 is not connected, primary and UpToDate on both halves after the verify"; }
oos=$(awk '/^ *0: cs:/{f=1; next} f && /oos:/{sub(/.*oos:/, ""); print $1; exit}' "$OUT/proc-drbd-verify.txt")
on storage0a 'dmesg' | grep -E 'drbd0|r0' | grep -iE 'verify' > "$OUT/dmesg-verify.txt" || true
grep -qi 'Online verify done' "$OUT/dmesg-verify.txt" || { cat "$OUT/dmesg-verify.txt"; fail "DRBD's online verify of r0 did not finish"; }
[ "$oos" = 0 ] || { cat "$OUT/proc-drbd-verify.txt" "$OUT/dmesg-verify.txt"; fail "online verify found ${oos:-?} KiB out of sync on r0"; }
say "online verify of r0: 0 out of sync"
phase "storage0b rejoined by itself; online verify: 0 blocks out of sync"

# ---- 5. grow by a pair
bash lab/up.sh storage2a storage2b client2 || fail "spares did not boot"
on storage2a 'mkfs.ext4 -q -F /dev/vdb' || fail "could not put a filesystem on storage2a:/dev/vdb"
set +e; "$BIN" apply -f "$GROW" --yes > "$OUT/apply-refused.log" 2>&1; rc=$?; set -e
[ $rc = 3 ] || { tail -20 "$OUT/apply-refused.log"; fail "apply with a used disk exited $rc, want 3 (preflight refused)"; }
grep -q 'storage2a.*disk /dev/vdb.*in use: signature ext4' "$OUT/apply-refused.log" || fail "the refusal does not name the disk and its filesystem"
[ "$(on storage2a 'blkid -p -o value -s TYPE /dev/vdb')" = ext4 ] || fail "the refused disk was touched"
say "preflight refused storage2a:/dev/vdb (ext4) and left it alone"
on storage2a "$(go run ./e2e/discoverscript storage /dev/vdb)" > "$CAP/discover-storage2a-ext4.txt"
on storage2a 'wipefs -a -q /dev/vdb'
# what the plan's probes read on a storage half before apply (steps/probetruth_test.go)
on storage2a "$(go run ./e2e/probecapture storage r2)" > "$CAP/probes-blank-storage2a.txt"
phase "preflight refuses a disk with a filesystem"

size_before=$(on client0 "df -B1 --output=size /mnt/gfs2 | tail -1")
say "grow apply, interrupted once it exports the new pair (SIGINT: running commands finish, no new one starts)"
"$BIN" apply -f "$GROW" --yes >"$OUT/apply-grow-interrupted.log" 2>&1 &
pid=$!
# one run at a time: a second apply, from this machine or from another operator's (another
# state directory: only the hosts' lock stops it), is refused while the first holds the cluster
for i in $(seq 1 120); do grep -q 'locked on its' "$OUT/apply-grow-interrupted.log" && break; kill -0 $pid 2>/dev/null || break; sleep 1; done
grep -q 'locked on its' "$OUT/apply-grow-interrupted.log" || { cat "$OUT/apply-grow-interrupted.log"; fail "the grow apply did not lock the cluster"; }
set +e; "$BIN" apply -f "$GROW" --yes >"$OUT/apply-concurrent-local.log" 2>&1; rc=$?; set -e
[ $rc = 1 ] && grep -qE 'is being changed by another scalestore run \(pid [0-9]+, apply -f' "$OUT/apply-concurrent-local.log" \
  || { cat "$OUT/apply-concurrent-local.log"; fail "a second apply on this machine was not refused (exit $rc)"; }
set +e; XDG_STATE_HOME=$OUT/other-operator "$BIN" apply -f "$GROW" --yes >"$OUT/apply-concurrent-remote.log" 2>&1; rc=$?; set -e
[ $rc = 1 ] && grep -qE 'storage0a: locked by another scalestore run \(held by apply -f' "$OUT/apply-concurrent-remote.log" \
  || { cat "$OUT/apply-concurrent-remote.log"; fail "a second apply from another operator was not refused by the hosts' lock (exit $rc)"; }
grep -q '== ' "$OUT/apply-concurrent-remote.log" && fail "the refused apply ran steps"
say "a second apply was refused, from this machine and from another state directory (the hosts' lock)"
for i in $(seq 1 300); do grep -q '== Export each half' "$OUT/apply-grow-interrupted.log" && break; kill -0 $pid 2>/dev/null || break; sleep 1; done
kill -INT $pid 2>/dev/null || true
set +e; wait $pid; rc=$?; set -e
grep -E 'stopped:|done:' "$OUT/apply-grow-interrupted.log" | tail -1 || true
[ $rc != 0 ] || fail "the grow apply finished although it was interrupted"
grep -q 'stopped before the end; run apply again to resume' "$OUT/apply-grow-interrupted.log" || { tail -20 "$OUT/apply-grow-interrupted.log"; fail "the interrupted apply did not stop cleanly"; }
grep -qE 'stopped: .*: [1-9][0-9]* changed' "$OUT/apply-grow-interrupted.log" || fail "the interrupt came before anything changed: not an interrupt in the middle"
grep -q '== Mount GFS2' "$OUT/apply-grow-interrupted.log" && fail "steps went on after the interrupt"
run_apply apply-grow "$GROW"
size_after=$(on client0 "df -B1 --output=size /mnt/gfs2 | tail -1")
say "GFS2 size: $size_before -> $size_after bytes"
[ "$size_after" -gt "$size_before" ] || fail "GFS2 did not grow"
# GFS2 brings other nodes' statfs up to date lazily (statfs_quantum, 30 s): poll
for i in $(seq 1 45); do on client1 "df -B1 --output=size /mnt/gfs2 | tail -1" | grep -qx " *$size_after" && break; sleep 2; done
on client1 "df -B1 --output=size /mnt/gfs2 | tail -1" | grep -qx " *$size_after" || fail "client1 does not see the grown filesystem"
[ "$(on client1 'blockdev --getsize64 /dev/VG0/LV0')" = "$(on client0 'blockdev --getsize64 /dev/VG0/LV0')" ] || fail "LV0 has different sizes on the clients"
on client1 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "earlier file changed across the grow"
on client0 'sha256sum < /mnt/gfs2/from-client1' | cmp -s - "$OUT/sum1" || fail "earlier file changed across the grow"
"$BIN" status -f "$GROW" > "$OUT/status-3.log" 2>&1 || { cat "$OUT/status-3.log"; fail "not healthy after the grow"; }
run_apply apply-grow-2 "$GROW"
grep -qE 'done: 0 changed' "$OUT/apply-grow-2.log" || fail "apply after the grow changed something"
phase "grow (interrupted, resumed): r2 → mpath2 → VG0 → LV0 → GFS2 online"

# ---- 7. add a client
jcount() { on client0 "gfs2_edit -p jindex /dev/VG0/LV0 | grep -cE 'File +journal[0-9]+\$'"; }
[ "$(jcount)" = 2 ] || fail "the lab's GFS2 should start with 2 journals (one per client), has $(jcount)"
# what the plan's probes read on a client before apply
on client2 "$(go run ./e2e/probecapture client)" > "$CAP/probes-blank-client2.txt"
run_apply apply-join "$JOIN"
grep -q 'changed: add journals up to 3' "$OUT/apply-join.log" || fail "apply did not add a journal for client2"
[ "$(jcount)" = 3 ] || fail "GFS2 has $(jcount) journals after adding client2, want 3"
on client0 'corosync-quorumtool -s' > "$OUT/quorum-3.txt"
grep -qE '^Nodes: +3$' "$OUT/quorum-3.txt" && grep -qE '^Quorate: +Yes' "$OUT/quorum-3.txt" || { cat "$OUT/quorum-3.txt"; fail "corosync is not a quorate 3-node cluster"; }
grep -q '2Node' "$OUT/quorum-3.txt" && fail "corosync still runs in two_node mode with three nodes"
on client2 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "client2 reads client0's file differently"
on client2 'head -c 4194304 /dev/urandom > /mnt/gfs2/from-client2 && sync && sha256sum < /mnt/gfs2/from-client2' > "$OUT/sum2"
on client1 'sha256sum < /mnt/gfs2/from-client2' | cmp -s - "$OUT/sum2" || fail "client1 reads client2's file differently"
"$BIN" status -f "$JOIN" > "$OUT/status-4.log" 2>&1 || { cat "$OUT/status-4.log"; fail "not healthy after adding client2"; }
run_apply apply-join-2 "$JOIN"
grep -qE 'done: 0 changed' "$OUT/apply-join-2.log" || fail "apply after adding client2 changed something"
# ... and on a built storage half and client
on storage1a "$(go run ./e2e/probecapture storage r1)" > "$CAP/probes-built-storage1a.txt"
on client0 "$(go run ./e2e/probecapture client)" > "$CAP/probes-built-client0.txt"
phase "add client2: journal added online, corosync 2 → 3 nodes, mounted"

# ---- 8. a client reboots: it leaves cleanly and comes back mounted, with no apply
say "client1 reboots (systemctl reboot); GFS2 must come back by itself"
on client1 'systemctl reboot' >/dev/null 2>&1 || true
pid=$(cat "$LAB_DIR/vms/client1/qemu.pid")
for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 2; done
kill -0 "$pid" 2>/dev/null && fail "client1 did not shut down"
on client0 'timeout 30 sha256sum < /mnt/gfs2/from-client1' | cmp -s - "$OUT/sum1" || fail "GFS2 on client0 is not usable while client1 is down (it did not leave cleanly)"
bash lab/vm.sh start client1
for i in $(seq 1 90); do on client1 true 2>/dev/null && break; sleep 3; done
on client1 "date -s @$(date +%s) >/dev/null" || fail "client1 did not come back"
for i in $(seq 1 100); do on client1 'findmnt -rn -t gfs2 /mnt/gfs2' 2>/dev/null | grep -q gfs2 && break; sleep 3; done
on client1 'findmnt -rn -t gfs2 /mnt/gfs2' | grep -q gfs2 || { on client1 'systemctl status scalestore-lv.service mnt-gfs2.mount --no-pager' >&2 || true; fail "GFS2 is not mounted on client1 after its reboot"; }
on client1 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "client1 reads client0's file differently after its reboot"
"$BIN" status -f "$JOIN" > "$OUT/status-5.log" 2>&1 || { cat "$OUT/status-5.log"; fail "not healthy after client1's reboot"; }
phase "client1 rebooted: left cleanly, came back mounted without apply"

# ---- L. client1's cluster LAN is cut while client0 writes: the others' dlm fences it
say "client0 writes (a new file each time) while client1's cluster LAN is cut"
start_writer client0 new
wait_writes client0 5 120 "the writer on client0 did not start writing"
b=$(writes client0)
pid1=$(cat "$LAB_DIR/vms/client1/qemu.pid")
mark=$(cat "$LAB_DIR/bmc/client1/power.log" 2>/dev/null | wc -l)
qmp_vm client1 set_link '{"name": "lan0", "up": false}' >/dev/null || fail "could not cut client1's cluster LAN"
say "client1's LAN cut after $b writes on client0"
# dlm on a quorate client fences client1 through its BMC: fence_ipmilan reboots it (off, then on)
for i in $(seq 1 300); do kill -0 "$pid1" 2>/dev/null || break; sleep 1; done
kill -0 "$pid1" 2>/dev/null && fail "client1 was not fenced: its qemu (pid $pid1) still runs 300 s after its LAN was cut"
wait_writes client0 $((b + 20)) 300 "client0's writes did not resume after client1 was cut off and fenced"
stop_writer client0
errs=$(write_errors client0)
STALL_CLIENT_CUT=$(stall client0 "$b")
say "client1 fenced; client0: $errs write errors, longest stall $STALL_CLIENT_CUT s"
[ "$errs" = 0 ] || fail "$errs writes failed on client0 while client1 was cut off"
tail -n +"$((mark + 1))" "$LAB_DIR/bmc/client1/power.log" > "$OUT/bmc-client1-power.log"
grep -q 'set power 0' "$OUT/bmc-client1-power.log" || { cat "$OUT/bmc-client1-power.log"; fail "client1's BMC was never asked to power it off"; }
for h in client0 client2; do on $h 'dlm_tool dump' 2>/dev/null | grep -E 'fence (request|result)' || true; done > "$OUT/dlm-fence.log"
grep -qE 'fence result [0-9]+ pid [0-9]+ result 0' "$OUT/dlm-fence.log" || { cat "$OUT/dlm-fence.log"; fail "no dlm on client0 or client2 reports a successful fence of client1"; }
phase "client1 cut off: fenced by dlm through its BMC, client0's writes went on"

wait_ssh client1 400
on client1 "date -s @$(date +%s) >/dev/null"
for i in $(seq 1 300); do on client1 'findmnt -rn -t gfs2 /mnt/gfs2' 2>/dev/null | grep -q gfs2 && break; sleep 1; done
on client1 'findmnt -rn -t gfs2 /mnt/gfs2' | grep -q gfs2 || { on client1 'systemctl status scalestore-lv.service mnt-gfs2.mount --no-pager' >&2 || true; fail "GFS2 is not mounted on client1 after it was fenced and rebooted"; }
on client1 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "client1 reads client0's file differently after it was fenced"
wait_healthy "$JOIN" "$OUT/status-6.log" 120
phase "client1 rebooted by its fence, remounted by itself"

# the last thing the lab does: a client that lacks one of its packages, for the probe tests
on client2 "dpkg -r --force-depends gfs2-utils >/dev/null 2>&1; $(go run ./e2e/probecapture client)" > "$CAP/probes-client2-gfs2-utils-removed.txt"
awk '$0 == "@@dpkg-query" {on=1; next} on && /^rc=/ {rc=substr($0, 4); on=0} on {n++; if ($1 == "ii") ii++} END {exit !(rc != 0 || ii < n)}' \
  "$CAP/probes-client2-gfs2-utils-removed.txt" || fail "dpkg-query still says every client package is installed on client2 after removing gfs2-utils"
on storage2b "dpkg -r --force-depends targetcli-fb >/dev/null 2>&1; $(go run ./e2e/probecapture storage r2)" > "$CAP/probes-storage2b-targetcli-removed.txt"

say "timings:"
printf '  %s\n' "${TIMES[@]}"
printf '  %-58s %6.1f s\n' "total" "$(echo "$(date +%s.%N) - $T0" | bc)"
printf '  longest write stall while a half was killed (fenced): %s s\n' "$STALL_HALF_KILLED"
printf '  longest write stall, replication link cut: client0 %s s, client1 %s s\n' "$STALL_CUT_0" "$STALL_CUT_1"
printf '  longest write stall on client0 while client1 was cut off and fenced: %s s\n' "$STALL_CLIENT_CUT"
printf '  first apply %.1f s, second apply %.1f s (%.1f %%)\n' "$T_FIRST" "$T_SECOND" "$(echo "100 * $T_SECOND / $T_FIRST" | bc -l)"
printf '  %s\n' "$(grep -h '^took ' "$OUT/apply-1.log")" "$(grep -h '^took ' "$OUT/apply-2.log")"
grep -E '^\S+ +[0-9]+ changed' "$OUT/apply-1.log" >/dev/null || true
say "PASS"
