#!/bin/bash
# e2e/e2e.sh — scalestore end to end on the lab's real Debian 12 VMs (make e2e).
#
#  1. apply builds the seed topology from nothing
#  2. data written on client0 reads back byte-exact on client1, and the reverse
#  3. a second apply changes nothing (and its time is a small share of the first); the wizard's
#     run screen takes 200 000 lines that storage0a prints, and its run log keeps every one
#  4. storage0a is killed while client0 writes: writes go on, data intact; it comes back and
#     apply rejoins it in the safe order (UpToDate before primary and export); both paths return
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

# ---- 4. failover: kill storage0a under writes, rejoin
say "client0 writes to GFS2 while storage0a is killed"
# each write appends "N TIME" (the VM's clock, seconds) once it is done: the longest gap
# between two writes is the stall the clients saw
on client0 'rm -f /root/stop /root/werr /root/wlog; nohup sh -c "i=0; while [ ! -e /root/stop ]; do i=\$((i+1)); dd if=/dev/urandom of=/mnt/gfs2/w.\$((i%8)) bs=64k count=4 oflag=direct status=none || echo ERR \$i >> /root/werr; echo \$i \$(date +%s.%N) >> /root/wlog; done" >/dev/null 2>&1 &'
writes() { on client0 'cat /root/wlog 2>/dev/null | wc -l'; }
wait_writes() {  # wait_writes N SECONDS WHAT: until the writer has done N writes
  local i
  for i in $(seq 1 "$2"); do [ "$(writes)" -ge "$1" ] && return 0; sleep 1; done
  fail "$3 (the writer did $(writes) writes, want $1 within $2 s)"
}
wait_writes 5 120 "the writer on client0 did not start writing"
before=$(writes)
pid=$(cat "$LAB_DIR/vms/storage0a/qemu.pid")
kill -9 "$pid"
say "storage0a killed (qemu pid $pid) after $before writes"
wait_writes $((before + 20)) 180 "writes stopped after storage0a died"
on client0 'touch /root/stop'
after=$(writes)
errs=$(on client0 'cat /root/werr 2>/dev/null | wc -l')
stall=$(on client0 "awk -v from=$before 'NR >= from { if (prev && \$2 - prev > max) max = \$2 - prev; prev = \$2 } END { printf \"%.2f\", max }' /root/wlog")
say "writes: $before before the kill, $after in all, $errs errors; longest write stall while storage0a was down: $stall s"
STALL_HALF_KILLED=$stall
[ "$errs" = 0 ] || fail "$errs writes failed while storage0a was down"
on client0 'multipath -ll' > "$OUT/multipath-degraded.txt" 2>&1 || fail "multipath -ll failed on client0"
cp "$OUT/multipath-degraded.txt" "$CAP/multipath-ll-one-path-down.txt"
set +e; "$BIN" status -f "$SPEC" > "$OUT/status-degraded.log" 2>&1; rc=$?; set -e
[ $rc = 1 ] || { cat "$OUT/status-degraded.log"; fail "status exited $rc while storage0a is down, want 1 (degraded)"; }
grep -qE 'UNKNOWN +storage0a +ssh' "$OUT/status-degraded.log" || { cat "$OUT/status-degraded.log"; fail "status does not say storage0a's state is unknown"; }
grep -qE 'warn +client0 +mpath0 +only 1 of 2 paths' "$OUT/status-degraded.log" || { cat "$OUT/status-degraded.log"; fail "status does not show client0's mpath0 on one path"; }
phase "failover: writes went on through storage0b"

bash lab/vm.sh start storage0a
for i in $(seq 1 90); do on storage0a true 2>/dev/null && break; sleep 3; done
on storage0a true || fail "storage0a did not come back"
on storage0a "date -s @$(date +%s) >/dev/null"
say "storage0a is back (DRBD down, not exporting); apply rejoins it"
run_apply apply-rejoin "$SPEC"
# the safe order: primary and export only once UpToDate
awk '/drbd-sync|Wait for the DRBD sync/{s=NR} /make storage0a primary for r0/{p=NR} /storage0a\] changed: create block backstore r0|storage0a\] changed: create target/{e=NR} END{ if (!(s && p && e && s<p && p<e)) exit 1 }' "$OUT/apply-rejoin.log" \
  || { grep -n 'storage0a' "$OUT/apply-rejoin.log" | head -30; fail "storage0a did not rejoin in the order sync → primary → export"; }
# ...and what DRBD itself logged on storage0a since its boot: its disk was UpToDate before it
# became primary (DRBD would let an Inconsistent SyncTarget become primary)
on storage0a 'dmesg' | grep -E 'drbd0|r0' > "$OUT/dmesg-rejoin.txt" || fail "no DRBD kernel messages on storage0a"
awk '/disk\( [A-Za-z]+ -> UpToDate \)/ && !u {u=NR} /role\( Secondary -> Primary \)/ && !p {p=NR} END { if (!(u && p && u < p)) exit 1 }' "$OUT/dmesg-rejoin.txt" \
  || { cat "$OUT/dmesg-rejoin.txt" >&2; fail "storage0a became primary before its disk was UpToDate (kernel log)"; }
for i in $(seq 1 30); do "$BIN" status -f "$SPEC" > "$OUT/status-2.log" 2>&1 && break; sleep 2; done
"$BIN" status -f "$SPEC" > "$OUT/status-2.log" 2>&1 || { cat "$OUT/status-2.log"; fail "not healthy after the rejoin"; }
on client0 'sha256sum < /mnt/gfs2/from-client0' | cmp -s - "$OUT/sum0" || fail "data changed across the failover"
phase "rejoin: sync → primary → export, both paths back"

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

# the last thing the lab does: a client that lacks one of its packages, for the probe tests
on client2 "dpkg -r --force-depends gfs2-utils >/dev/null 2>&1; $(go run ./e2e/probecapture client)" > "$CAP/probes-client2-gfs2-utils-removed.txt"
awk '$0 == "@@dpkg-query" {on=1; next} on && /^rc=/ {rc=substr($0, 4); on=0} on {n++; if ($1 == "ii") ii++} END {exit !(rc != 0 || ii < n)}' \
  "$CAP/probes-client2-gfs2-utils-removed.txt" || fail "dpkg-query still says every client package is installed on client2 after removing gfs2-utils"
on storage2b "dpkg -r --force-depends targetcli-fb >/dev/null 2>&1; $(go run ./e2e/probecapture storage r2)" > "$CAP/probes-storage2b-targetcli-removed.txt"

say "timings:"
printf '  %s\n' "${TIMES[@]}"
printf '  %-58s %6.1f s\n' "total" "$(echo "$(date +%s.%N) - $T0" | bc)"
printf '  longest write stall while a half was killed: %s s\n' "$STALL_HALF_KILLED"
printf '  first apply %.1f s, second apply %.1f s (%.1f %%)\n' "$T_FIRST" "$T_SECOND" "$(echo "100 * $T_SECOND / $T_FIRST" | bc -l)"
printf '  %s\n' "$(grep -h '^took ' "$OUT/apply-1.log")" "$(grep -h '^took ' "$OUT/apply-2.log")"
grep -E '^\S+ +[0-9]+ changed' "$OUT/apply-1.log" >/dev/null || true
say "PASS"
