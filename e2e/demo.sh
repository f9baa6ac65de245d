#!/bin/bash
# e2e/demo.sh — make demo-record: the wizard, driven through a pty by e2e/wizarddrive and
# recorded by asciinema, on the lab's real VMs:
#
#  1. builds the cluster from nothing on the six seed hosts   (e2e/demo/new-cluster.txt)
#  2. adds client2                                             (e2e/demo/add-client.txt)
#  3. adds the spare pair storage2a/storage2b, growing GFS2    (e2e/demo/add-pair.txt)
#
# each destructive run confirmed by typing the cluster name. Each script reads the run log's
# path off the done screen; all three must be on disk. The recording goes to docs/demo.cast
# (DEMO_CAST) only when all three passed. On a failing step wizarddrive prints the step and the
# screen, and this exits 1.
#
# Needs root, the lab image (make lab-image), asciinema, ./scalestore (make build).
# DEMO_SIZE (100x30), DEMO_PACE (40ms a key), DEMO_KEEP=1 leaves the lab up.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${LAB_DIR:-/var/tmp/scalestore-lab}
DEMO_DIR=${DEMO_DIR:-$LAB_DIR/demo}
DEMO_CAST=${DEMO_CAST:-docs/demo.cast}
DEMO_SPEC=$DEMO_DIR/scalestore.toml
SIZE=${DEMO_SIZE:-100x30}
PACE=${DEMO_PACE:-40ms}
export LAB_DIR DEMO_SPEC PATH=$PATH:/usr/local/go/bin

say()  { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { printf '[demo %s] FAIL: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "the demo needs root (the lab uses network namespaces and taps)"
command -v asciinema >/dev/null || fail "asciinema is not installed: run 'make demo-record' (it installs it) or apt-get install asciinema"
[ -x ./scalestore ] || fail "./scalestore is missing: run 'make build'"

mkdir -p "$DEMO_DIR"
go build -o "$DEMO_DIR/wizarddrive" ./e2e/wizarddrive || fail "go build ./e2e/wizarddrive"

# the lab goes down at the end, pass or fail (DEMO_KEEP=1 leaves it up to look at)
trap '[ "${DEMO_KEEP:-0}" = 1 ] || bash lab/down.sh >/dev/null 2>&1 || true' EXIT

# ---- a clean lab: from the snapshot when there is one, else booted fresh; then the spares
bash lab/down.sh >/dev/null 2>&1 || true
if bash lab/restore.sh clean; then
  say "lab restored from the clean snapshot"
else
  say "no clean snapshot: booting the lab fresh"
  LAB_SPARES=1 bash lab/up.sh || fail "the lab did not come up"
fi
bash lab/up.sh storage2a storage2b client2 || fail "the spares (storage2a, storage2b, client2) did not come up"

# ---- a fresh start: no spec, the run logs in a directory of their own
rm -rf "$DEMO_DIR/state" "$DEMO_SPEC" "$DEMO_SPEC".* "$DEMO_DIR/vars"
export XDG_STATE_HOME=$DEMO_DIR/state
CAST=$DEMO_DIR/demo.cast
rm -f "$CAST"

n=0
for s in new-cluster add-client add-pair; do
  n=$((n + 1))
  flags=(--size "$SIZE" --pace "$PACE" --cast "$CAST" --vars "$DEMO_DIR/vars")
  if [ $n = 1 ]; then flags+=(--title "scalestore: a cluster built, a client and a pair added, through the wizard"); else flags+=(--append); fi
  say "$n of 3: $s (e2e/demo/$s.txt)"
  "$DEMO_DIR/wizarddrive" "${flags[@]}" "e2e/demo/$s.txt" -- ./scalestore -f "$DEMO_SPEC" ||
    fail "$s: the wizard did not get through e2e/demo/$s.txt (the step and the screen are above); the recording so far: $CAST"
done

# ---- the three run logs: each was shown on its done screen, each is on disk
logs=$(sed -n 's/^runlog=//p' "$DEMO_DIR/vars")
[ "$(printf '%s\n' "$logs" | grep -c .)" = 3 ] || fail "want 3 run logs read off the done screens, got: $logs"
for l in $logs; do
  [ -s "$l" ] || fail "the run log $l, shown on a done screen, is not on disk (or empty)"
  say "run log: $l ($(wc -l <"$l") events)"
done

# ---- what the wizard saved and built: client2 and pair r2 in the spec, every layer healthy
grep -q '"client2"' "$DEMO_SPEC" || fail "the spec the wizard saved ($DEMO_SPEC) has no client2"
grep -q '"storage2a"' "$DEMO_SPEC" || fail "the spec the wizard saved ($DEMO_SPEC) has no storage2a"
./scalestore status -f "$DEMO_SPEC" >"$DEMO_DIR/status.log" 2>&1 ||
  { cat "$DEMO_DIR/status.log"; fail "status after the demo: the cluster is not healthy ($DEMO_DIR/status.log)"; }
say "status: every layer healthy on every host"

mkdir -p "$(dirname "$DEMO_CAST")"
cp "$CAST" "$DEMO_CAST"
say "recorded $DEMO_CAST ($(du -h "$DEMO_CAST" | cut -f1)); play it with: asciinema play $DEMO_CAST"
