#!/bin/bash
# e2e/bench-lab.sh — how long building the lab's cluster takes (make bench-lab): the plan's own
# commands run bare, against scalestore apply as a graph and step after step.
#
# Each run starts from the lab's clean snapshot (lab/restore.sh clean; when there is none,
# lab/up.sh boots the lab and lab/snapshot.sh clean takes it first):
#   bare   ./scalestore plan --script -f lab/lab.toml > $OUT/bare.sh; bash $OUT/bare.sh
#          (the lab's ssh options through SCALESTORE_SSH_OPTS; the script prints
#          "<epoch> step <id>" on stderr as each step begins, "<epoch> step end" at its end)
#   steps  ./scalestore apply -f lab/lab.toml --yes --schedule steps
#   graph  ./scalestore apply -f lab/lab.toml --yes --schedule graph (apply's default)
# then prints the wall times side by side, apply/bare ratios and a per-step table (bare: from
# one step's stamp to the next; apply: each step's span from its run log's step-done events;
# in a graph run the spans overlap). Everything goes to $LAB_DIR/bench/<time>/ (results.txt,
# each run's output and run log); $LAB_DIR/bench/latest.txt is the last results.
# apply's wall time includes connecting, discovery, preflight and postflight, which the bare
# script does not do: its "run" column is the plan alone.
#
# Knobs: BENCH_RUNS="bare steps graph" (which runs, in that order), BENCH_SNAPSHOT=clean,
# BENCH_SPEC=lab/lab.toml, BENCH_CONCURRENCY (apply --concurrency; default none).
# After the last run, when it is an apply that passed, apply runs again on what it built (nothing
# to do) and its time is printed as a share of that first apply's.
# The lab is left as the last run built it. Exits non-zero when a run failed (the others run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB_DIR=${LAB_DIR:-/var/tmp/scalestore-lab}
export LAB_DIR
BIN=$ROOT/scalestore
SPEC=${BENCH_SPEC:-lab/lab.toml}
SNAP=${BENCH_SNAPSHOT:-clean}
RUNS=${BENCH_RUNS:-bare steps graph}
OUT=$LAB_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"

say()  { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { printf '[bench %s] FAIL: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
now()  { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ -x "$BIN" ] || fail "no $BIN: run 'make build' (make bench-lab builds it)"
[ -f "$SPEC" ] || fail "no spec $SPEC"
for r in $RUNS; do
  case $r in bare | graph | steps) ;; *) fail "BENCH_RUNS: unknown run '$r' (bare, graph, steps)" ;; esac
done
command -v python3 >/dev/null || fail "python3 is needed for the per-step table"
# the lab's ssh options, as lab/ssh.sh uses them (known_hosts, key, timeouts)
SSH_OPTS=$(bash -c '. lab/lib.sh; lab_ssh_opts')

# clean: the lab as its clean snapshot holds it (taken first when there is none)
clean() {
  if [ -f "$LAB_DIR/snapshots/$SNAP/meta" ]; then
    say "restoring the lab from snapshot '$SNAP'"
    bash lab/restore.sh "$SNAP" >"$OUT/restore-$1.log" 2>&1 || { tail -20 "$OUT/restore-$1.log" >&2; fail "lab/restore.sh $SNAP failed (log $OUT/restore-$1.log)"; }
  else
    say "no snapshot '$SNAP': booting the lab and taking it"
    bash lab/up.sh >"$OUT/up.log" 2>&1 || { tail -20 "$OUT/up.log" >&2; fail "lab/up.sh failed (log $OUT/up.log)"; }
    bash lab/snapshot.sh "$SNAP" >"$OUT/snapshot.log" 2>&1 || { tail -20 "$OUT/snapshot.log" >&2; fail "lab/snapshot.sh $SNAP failed (log $OUT/snapshot.log)"; }
  fi
}

declare -A WALL RUN STATUS
FAILED=0

# bare: the plan's commands as a script, one after another
run_bare() {
  "$BIN" plan --script -f "$SPEC" >"$OUT/bare.sh" || fail "plan --script failed"
  bash -n "$OUT/bare.sh" || fail "plan --script wrote invalid bash: $OUT/bare.sh"
  say "bash $OUT/bare.sh"
  local t0 t1 rc=0
  t0=$(now)
  SCALESTORE_SSH_OPTS=$SSH_OPTS bash "$OUT/bare.sh" >"$OUT/bare.out" 2>"$OUT/bare.err" || rc=$?
  t1=$(now)
  WALL[bare]=$(secs "$t0" "$t1")
  RUN[bare]=${WALL[bare]}
  # the step stamps, for the table
  grep -E '^[0-9]+[.,][0-9]+ step ' "$OUT/bare.err" | tr ',' '.' >"$OUT/bare.steps" || true
  if [ $rc = 0 ]; then
    STATUS[bare]=ok
  else
    STATUS[bare]="FAILED (exit $rc)"
    FAILED=1
    say "the bare script failed (exit $rc) after ${WALL[bare]} s; its stderr ends:"
    tail -15 "$OUT/bare.err" >&2
  fi
}

# apply SCHEDULE: scalestore apply as it is run, its run log kept
run_apply() {
  local sched=$1 t0 t1 rc=0 args=(apply -f "$SPEC" --yes --schedule "$1")
  if [ -n "${BENCH_CONCURRENCY:-}" ]; then args+=(--concurrency "$BENCH_CONCURRENCY"); fi
  say "scalestore ${args[*]}"
  t0=$(now)
  XDG_STATE_HOME=$OUT/state-$sched "$BIN" "${args[@]}" >"$OUT/$sched.out" 2>"$OUT/$sched.err" || rc=$?
  t1=$(now)
  WALL[$sched]=$(secs "$t0" "$t1")
  local log
  log=$(sed -n 's/^run log: //p' "$OUT/$sched.err" | tail -1)
  if [ -n "$log" ] && [ -f "$log" ]; then
    cp "$log" "$OUT/$sched.jsonl"
  else
    say "apply --schedule $sched named no run log"
    : >"$OUT/$sched.jsonl"
  fi
  # "took 5m2s: connect and discover 3.1s, run 4m50s, postflight 8.9s"
  grep -E '^took ' "$OUT/$sched.out" >"$OUT/$sched.took" || true
  # the run alone: the run-done event's elapsed time
  RUN[$sched]=$(python3 - "$OUT/$sched.jsonl" <<'EOF'
import json, sys
run = ""
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("kind") == "run-done":
        run = "%.1f" % (e.get("elapsed_ns", 0) / 1e9)
print(run or "-")
EOF
)
  if [ $rc = 0 ]; then
    STATUS[$sched]=ok
  else
    STATUS[$sched]="FAILED (exit $rc)"
    FAILED=1
    say "apply --schedule $sched failed (exit $rc) after ${WALL[$sched]} s; its output ends:"
    tail -15 "$OUT/$sched.out" >&2
    tail -5 "$OUT/$sched.err" >&2
  fi
}

for r in $RUNS; do
  clean "$r"
  case $r in
    bare) run_bare ;;
    *) run_apply "$r" ;;
  esac
  say "$r: ${WALL[$r]} s wall, ${STATUS[$r]}"
done

# the second apply on the cluster the last apply built (same state directory: what an operator
# running apply again sees), its time as a share of that first apply's
SECOND=
last=${RUNS##* }
if [ "$last" != bare ] && [ "${STATUS[$last]}" = ok ]; then
  say "scalestore apply again (nothing to do) after the $last run"
  t0=$(now) rc=0
  XDG_STATE_HOME=$OUT/state-$last "$BIN" apply -f "$SPEC" --yes --schedule "$last" >"$OUT/second.out" 2>"$OUT/second.err" || rc=$?
  t1=$(now)
  w2=$(secs "$t0" "$t1")
  took1=$(sed -n 's/^took \([0-9.ms]*\):.*/\1/p' "$OUT/$last.out" | tail -1)
  took2=$(sed -n 's/^took \([0-9.ms]*\):.*/\1/p' "$OUT/second.out" | tail -1)
  changed=$(sed -n 's/.*done: \([0-9]*\) changed.*/\1/p' "$OUT/second.out" | tail -1)
  SECOND=$(python3 - "$w2" "${WALL[$last]}" "$took1" "$took2" "${changed:-?}" "$rc" <<'EOF2'
import re, sys
w2, w1, took1, took2, changed, rc = sys.argv[1:]
def secs(d):
    m = re.fullmatch(r"(?:(\d+)m)?([\d.]+)(ms|s)", d or "")
    if not m:
        return None
    v = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    return v + 60 * int(m.group(1) or 0)
t1, t2 = secs(took1), secs(took2)
share = "%.1f %%" % (100 * t2 / t1) if t1 and t2 else "-"
print("second apply: %s s wall (%.1f %% of the first's %s s); took %s against %s (%s); %s changed%s" % (
    w2, 100 * float(w2) / float(w1), w1, took2 or "-", took1 or "-", share, changed, "" if rc == "0" else ", FAILED (exit %s)" % rc))
EOF2
)
  [ $rc = 0 ] && [ "$changed" = 0 ] || FAILED=1
  say "$SECOND"
fi

# ---- the results
R=$OUT/results.txt
{
  echo "scalestore bench on the lab: $(date -u +%FT%TZ), $("$BIN" version), spec $SPEC, snapshot '$SNAP'"
  if [ -n "${BENCH_CONCURRENCY:-}" ]; then echo "apply --concurrency $BENCH_CONCURRENCY"; fi
  echo
  printf '%-8s %10s %10s %8s %8s  %s\n' run "wall (s)" "run (s)" wall/bare run/bare status
  for r in $RUNS; do
    ratio_w=- ratio_r=-
    if [ -n "${WALL[bare]:-}" ] && [ "$r" != bare ]; then
      ratio_w=$(awk -v a="${WALL[$r]}" -v b="${WALL[bare]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
      ratio_r=$(awk -v a="${RUN[$r]}" -v b="${WALL[bare]}" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }')
    fi
    printf '%-8s %10s %10s %8s %8s  %s\n' "$r" "${WALL[$r]}" "${RUN[$r]}" "$ratio_w" "$ratio_r" "${STATUS[$r]}"
  done
  for r in $RUNS; do
    if [ -s "$OUT/$r.took" ]; then echo "$r: $(cat "$OUT/$r.took")"; fi
  done
  if [ -n "$SECOND" ]; then echo "$SECOND"; grep -E '^took ' "$OUT/second.out" | sed 's/^/second: /'; fi
  echo
  echo "per step (s; bare: stamp to stamp; apply: first host's start to last host's end, from the run log)"
  "$BIN" plan --json -f "$SPEC" >"$OUT/plan.json"
  python3 - "$OUT" "$RUNS" <<'EOF'
import json, os, sys
out, runs = sys.argv[1], sys.argv[2].split()
order = [s["id"] for s in json.load(open(os.path.join(out, "plan.json")))["steps"]]
times = {}
for r in runs:
    t = {}
    if r == "bare":
        path = os.path.join(out, "bare.steps")
        if os.path.exists(path):
            stamps = []
            for line in open(path):
                f = line.split()
                if len(f) >= 3:
                    stamps.append((float(f[0]), f[2]))
            for (t0, sid), (t1, _) in zip(stamps, stamps[1:]):
                t[sid] = t1 - t0
    else:
        path = os.path.join(out, r + ".jsonl")
        for line in open(path) if os.path.exists(path) else []:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("kind") == "step-done" and e.get("step"):
                t[e["step"]] = e.get("elapsed_ns", 0) / 1e9
    times[r] = t
print("%-20s" % "step" + "".join("%10s" % r for r in runs))
total = {r: 0.0 for r in runs}
for sid in order:
    row = "%-20s" % sid
    for r in runs:
        v = times[r].get(sid)
        row += "%10s" % ("-" if v is None else "%.1f" % v)
        total[r] += v or 0
    print(row)
print("%-20s" % "sum of steps" + "".join("%10.1f" % total[r] for r in runs))
EOF
  echo
  echo "(a graph run's step spans overlap: their sum exceeds its run time; '-': the step did not run)"
  echo "files: $OUT"
} >"$R"
cp "$R" "$LAB_DIR/bench/latest.txt"
cat "$R"
exit $FAILED
