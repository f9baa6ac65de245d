#!/bin/bash
# e2e/e2e.sh — scalestore end to end on the lab's real Debian 12 VMs (make e2e).
#
#  1. apply builds the seed topology from nothing
#  2. data written on client0 reads back byte-exact on client1, and the reverse
#  3. a second apply changes nothing (and its time is a small share of the first)
#  4. storage0a is killed while client0 writes: writes go on, data intact; it comes back and
#     apply rejoins it in the safe order (UpToDate before primary and export); both paths return
#  5. preflight refuses a spare disk holding a filesystem, untouched; then storage2a/2b are
#     added and apply grows VG0, LV0 and the mounted GFS2 online (interrupted once with Ctrl-C
#     on the way, then resumed); the earlier files are intact
#  6. real outputs of the commands scalestore parses are captured into steps/testdata/captures/
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
CAP=${E2E_CAPTURES:-$ROOT/steps/testdata/captures}
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
"$BIN" status -f "$SPEC" > "$OUT/status-1.log" 2>&1 || { cat "$OUT/status-1.log"; fail "status reports a degraded cluster after apply"; }

# ---- 6 (first half). captures of a healthy cluster for the parsers' tests
mkdir -p "$CAP"
for h in storage0a client0; do
  role=storage; [ "${h#client}" != "$h" ] && role=client
  on $h "$(go run ./e2e/statescript $role)" > "$CAP/state-$h-healthy.txt"
done
on client0 'iscsiadm -m session; echo; multipath -ll; echo; corosync-quorumtool -s; echo; dlm_tool ls; echo; lvs --reportformat json -o vg_name,lv_name,lv_attr,lv_size --units b --nosuffix; findmnt -J -t gfs2 -o TARGET,SOURCE,FSTYPE' > "$CAP/client0-layers.txt" 2>&1 || true
phase "captures of the healthy cluster"

# ---- 4. failover: kill storage0a under writes, rejoin
say "client0 writes to GFS2 while storage0a is killed"
on client0 'rm -f /root/stop; nohup sh -c "i=0; while [ ! -e /root/stop ]; do i=\$((i+1)); dd if=/dev/urandom of=/mnt/gfs2/w.\$((i%8)) bs=64k count=4 oflag=direct status=none || echo ERR \$i >> /root/werr; echo \$i > /root/wcount; done" >/dev/null 2>&1 &'
sleep 5
before=$(on client0 'cat /root/wcount')
pid=$(cat "$LAB_DIR/vms/storage0a/qemu.pid")
kill -9 "$pid"
say "storage0a killed (qemu pid $pid) after $before writes"
sleep 40
after=$(on client0 'cat /root/wcount')
errs=$(on client0 'cat /root/werr 2>/dev/null | wc -l')
say "writes: $before before the kill, $after 40 s later, $errs errors"
[ "$after" -gt "$before" ] || fail "writes stopped after storage0a died"
[ "$errs" = 0 ] || fail "$errs writes failed while storage0a was down"
on client0 'touch /root/stop; sleep 2; multipath -ll' > "$OUT/multipath-degraded.txt" 2>&1 || true
cp "$OUT/multipath-degraded.txt" "$CAP/multipath-ll-one-path-down.txt"
"$BIN" status -f "$SPEC" > "$OUT/status-degraded.log" 2>&1 && fail "status says healthy while storage0a is down"
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
phase "preflight refuses a disk with a filesystem"

size_before=$(on client0 "df -B1 --output=size /mnt/gfs2 | tail -1")
say "grow apply, interrupted once it exports the new pair (SIGINT: running commands finish, no new one starts)"
"$BIN" apply -f "$GROW" --yes >"$OUT/apply-grow-interrupted.log" 2>&1 &
pid=$!
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

say "timings:"
printf '  %s\n' "${TIMES[@]}"
printf '  %-58s %6.1f s\n' "total" "$(echo "$(date +%s.%N) - $T0" | bc)"
printf '  first apply %.1f s, second apply %.1f s (%.1f %%)\n' "$T_FIRST" "$T_SECOND" "$(echo "100 * $T_SECOND / $T_FIRST" | bc -l)"
printf '  %s\n' "$(grep -h '^took ' "$OUT/apply-1.log")" "$(grep -h '^took ' "$OUT/apply-2.log")"
grep -E '^\S+ +[0-9]+ changed' "$OUT/apply-1.log" >/dev/null || true
say "PASS"
