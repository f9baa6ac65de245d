package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"scalestore/config"
	"scalestore/remote"
)

// The graph scheduler is tested on the real plans, run on the converging
// fake cluster (fake_test.go) behind a tracer: every command and file the
// engine sends a host takes a small random delay (seeded) and is recorded
// with a logical start and end (one counter for all hosts). The plan's
// commands are marked ": step/action; " so that each call names its action.

// markPlan copies p with every command of action ai of step si starting
// ": si/ai; " (a no-op in a shell).
func markPlan(p *Plan) *Plan {
	q := *p
	q.Steps = make([]Step, len(p.Steps))
	for si, st := range p.Steps {
		st.Actions = append([]Action(nil), st.Actions...)
		for ai := range st.Actions {
			a := &st.Actions[ai]
			mark := func(c remote.Cmd) remote.Cmd {
				return remote.Cmd{Script: fmt.Sprintf(": %d/%d; %s", si, ai, c.String())}
			}
			a.Cmd = mark(a.Cmd)
			if a.Unless != nil {
				a.Unless = ptr(mark(*a.Unless))
			}
			if a.OnChange != nil {
				a.OnChange = ptr(mark(*a.OnChange))
			}
		}
		q.Steps[si] = st
	}
	return &q
}

// call is one command, read or write a node sent a host.
type call struct {
	node, action int
	host         string
	own          bool // on the node's own host (not a secret's source)
	start, end   int64
}

type tracer struct {
	g      *Graph
	mu     sync.Mutex
	tick   int64
	calls  []call
	rnd    *rand.Rand
	maxD   time.Duration // delays are in [0, maxD), or exactly maxD when equal
	equal  bool
	nodeOf map[string]int    // step index + host → node
	files  map[string][2]int // host + path → the action writing it (si, ai)
	// before, when set, runs before each marked call (it may block).
	before func(host string, si, ai int, text string)
}

func newTracer(g *Graph, seed int64, maxD time.Duration, equal bool) *tracer {
	t := &tracer{g: g, rnd: rand.New(rand.NewSource(seed)), maxD: maxD, equal: equal,
		nodeOf: map[string]int{}, files: map[string][2]int{}}
	for i, nd := range g.Nodes {
		t.nodeOf[fmt.Sprint(nd.Step, "\x00", nd.Host)] = i
	}
	for si, st := range g.Plan.Steps {
		for ai, a := range st.Actions {
			switch a.Kind {
			case WriteFile:
				t.files[a.Host+"\x00"+a.Path] = [2]int{si, ai}
			case CopySecret: // its read of the source is not traced
				t.files[a.Host+"\x00"+a.Path] = [2]int{si, ai}
			}
		}
	}
	return t
}

func (t *tracer) now() int64 { t.mu.Lock(); defer t.mu.Unlock(); t.tick++; return t.tick }

// delay holds a call: maxD when equal, else at random none, a few yields
// or a sleep under maxD (a sleep costs a timer tick on a busy machine:
// most calls yield instead, which reorders them as well).
func (t *tracer) delay() {
	t.mu.Lock()
	d, yields := t.maxD, 0
	if !t.equal {
		switch k := t.rnd.Intn(10); {
		case k < 4:
			d = 0
		case k < 8:
			d, yields = 0, 1+t.rnd.Intn(8)
		default:
			d = time.Duration(t.rnd.Int63n(int64(t.maxD)))
		}
	}
	t.mu.Unlock()
	for range yields {
		runtime.Gosched()
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// record wraps one call of action (si, ai) on host.
func (t *tracer) record(host string, si, ai int, text string, do func()) {
	if t.before != nil {
		t.before(host, si, ai, text)
	}
	start := t.now()
	t.delay()
	do()
	end := t.now()
	a := t.g.Plan.Steps[si].Actions[ai]
	t.mu.Lock()
	t.calls = append(t.calls, call{node: t.nodeOf[fmt.Sprint(si, "\x00", a.Host)], action: ai, host: host, own: host == a.Host, start: start, end: end})
	t.mu.Unlock()
}

func (t *tracer) source(f *fakeCluster) HostSource {
	return func(ctx context.Context, name string) (remote.Host, error) {
		return &tracedHost{Host: f.host(name), t: t}, nil
	}
}

type tracedHost struct {
	remote.Host
	t *tracer
}

func marker(text string) (si, ai int, ok bool) {
	if !strings.HasPrefix(text, ": ") {
		return 0, 0, false
	}
	_, err := fmt.Sscanf(text, ": %d/%d;", &si, &ai)
	return si, ai, err == nil
}

func (h *tracedHost) Run(ctx context.Context, cmd remote.Cmd, opt remote.RunOptions) (res remote.Result, err error) {
	si, ai, ok := marker(cmd.String())
	if !ok { // the batched probes, /proc/drbd
		return h.Host.Run(ctx, cmd, opt)
	}
	h.t.record(h.Name(), si, ai, cmd.String(), func() { res, err = h.Host.Run(ctx, cmd, opt) })
	return res, err
}

func (h *tracedHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) (changed bool, err error) {
	id, ok := h.t.files[h.Name()+"\x00"+path]
	if !ok {
		panic("a write the plan does not make: " + h.Name() + " " + path)
	}
	h.t.record(h.Name(), id[0], id[1], "write "+path, func() { changed, err = h.Host.WriteFile(ctx, path, data, mode, owner) })
	return changed, err
}

// span is when a node ran: from its first call's start to its last's end.
type span struct {
	start, end int64
	ran        bool
}

func (t *tracer) spans(ownOnly bool) []span {
	out := make([]span, len(t.g.Nodes))
	for _, c := range t.calls {
		if ownOnly && !c.own {
			continue
		}
		s := &out[c.node]
		if !s.ran || c.start < s.start {
			s.start = c.start
		}
		s.end = max(s.end, c.end)
		s.ran = true
	}
	return out
}

func (t *tracer) name(n int) string {
	nd := t.g.Nodes[n]
	return t.g.Plan.Steps[nd.Step].ID + " on " + nd.Host
}

// rounds is how many rounds the run took, as it ran: a node's last round is
// its own actions after the latest of the nodes that ended before it
// started. With every action taking the same time, that is its wall time
// in actions.
func (t *tracer) rounds() int {
	sp := t.spans(false)
	order := make([]int, 0, len(sp))
	for n, s := range sp {
		if s.ran {
			order = append(order, n)
		}
	}
	sort.Slice(order, func(a, b int) bool { return sp[order[a]].end < sp[order[b]].end })
	last := map[int]int{}
	total := 0
	for _, n := range order {
		before := 0
		for _, m := range order {
			if sp[m].end < sp[n].start {
				before = max(before, last[m])
			}
		}
		last[n] = before + len(t.g.Nodes[n].Actions)
		total = max(total, last[n])
	}
	return total
}

// freshFake is a fake cluster for the marked plan (its authkey made: the
// marked keygen is not the command the fake knows).
func freshFake(p *Plan) *fakeCluster {
	f := newFakeCluster(p)
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if a.Kind == CopySecret {
				f.files[a.From+a.Path] = []byte("key")
			}
		}
	}
	return f
}

// safetyEdges are the order rules that keep the data safe, written here
// apart from the needs table so that a table that loses one fails: every
// node of the second step waits for the nodes of the first on the same host,
// the same DRBD pair or every host.
var safetyEdges = []struct {
	before, after string
	scope         Scope
}{
	{"drbd-config", "drbd-metadata", SameHost},
	{"drbd-metadata", "drbd-up", SameHost},
	{"drbd-up", "drbd-initial-sync", SamePair},
	{"drbd-initial-sync", "drbd-sync", SamePair},
	{"drbd-sync", "drbd-primary-a", SamePair},
	{"drbd-sync", "drbd-primary-b", SamePair},
	{"drbd-primary-a", "drbd-primary-b", SamePair},
	{"drbd-primary-a", "export", SamePair},
	{"drbd-primary-b", "export", SamePair},
	{"export", "storage-boot", SamePair},
	{"export", "import", AllHosts},
	{"import", "multipath", SameHost},
	{"multipath", "vg", SameHost},
	{"lvm-config", "vg", AllHosts},
	{"cluster", "vg", AllHosts},
	{"vg", "vg-lock", AllHosts},
	{"cluster", "vg-lock", SameHost},
	{"vg-lock", "lv", AllHosts},
	{"lv", "lv-activate", AllHosts},
	{"lv-activate", "gfs2", SameHost},
	{"lv", "gfs2", AllHosts},
	{"gfs2", "journals", AllHosts},
	{"gfs2", "mount", AllHosts},
	{"journals", "mount", AllHosts},
	{"cluster", "mount", SameHost},
	{"lv-boot", "mount", SameHost},
	{"mount", "grow-lv", AllHosts},
	{"grow-lv", "grow-refresh", AllHosts},
	{"grow-refresh", "grow-fs", AllHosts},
	{"cluster-key", "cluster", AllHosts},
}

// safetyPairs lists (needed node, dependent node) for every safety edge,
// and packages then modules before every later node of the same host,
// resolving pairs from the spec.
func safetyPairs(g *Graph, s *config.Spec) [][2]int {
	var out [][2]int
	nodesOf := func(id string) []int {
		for si, st := range g.Plan.Steps {
			if st.ID == id {
				return g.StepNodes[si]
			}
		}
		return nil
	}
	in := func(scope Scope, h, other string) bool {
		switch scope {
		case SameHost:
			return h == other
		case SamePair:
			p, side := s.PairOf(h)
			return side >= 0 && (other == p.A.Host || other == p.B.Host)
		}
		return true
	}
	for _, e := range safetyEdges {
		for _, b := range nodesOf(e.after) {
			for _, a := range nodesOf(e.before) {
				if in(e.scope, g.Nodes[b].Host, g.Nodes[a].Host) {
					out = append(out, [2]int{a, b})
				}
			}
		}
	}
	for i, b := range g.Nodes {
		for j, a := range g.Nodes[:i] {
			id := g.Plan.Steps[a.Step].ID
			if (id == "packages" || id == "modules") && a.Host == b.Host && a.Step < b.Step {
				out = append(out, [2]int{j, i})
			}
		}
	}
	return out
}

// graphSpecs are the specs the scheduler is run on.
func graphSpecs(t *testing.T) map[string]*config.Spec {
	return map[string]*config.Spec{
		"sample":           sample(t, config.ProfileDebian12),
		"lab":              loadLab(t, "lab.toml"),
		"lab-join":         loadLab(t, "lab-join.toml"),
		"fenced lab-grow":  fencedLab(t, config.ProfileDebian12),
		"sample (centos5)": sample(t, config.ProfileCentOS5),
	}
}

type graphRun struct {
	p    *Plan
	g    *Graph
	f    *fakeCluster
	tr   *tracer
	rec  *recorder
	sum  Summary
	err  error
	spec *config.Spec
}

func runTraced(t *testing.T, s *config.Spec, seed int64, maxD time.Duration, equal bool, e *Engine, setup func(*graphRun)) *graphRun {
	t.Helper()
	p := markPlan(Build(s, nil))
	g, err := NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &graphRun{p: p, g: g, f: freshFake(p), tr: newTracer(g, seed, maxD, equal), rec: &recorder{}, spec: s}
	if setup != nil {
		setup(r)
	}
	e.Hosts = r.tr.source(r.f)
	if e.Emit == nil {
		e.Emit = r.rec.emit
	}
	e.Poll = time.Millisecond
	// a bound for a failing test only: the fake answers at once
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.sum, r.err = e.Run(ctx, p)
	return r
}

// Under every schedule (random delays, many seeds, with and without a
// cap): every need and every safety edge holds (the needed node ended
// before the other started), a host runs one node at a time with its
// actions in plan order, the cap holds, every step starts and ends once,
// and the run changes what the sequential one does.
func TestGraphScheduleHoldsEveryNeed(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 8
	}
	for name, s := range graphSpecs(t) {
		t.Run(name, func(t *testing.T) {
			seq := runTraced(t, s, 0, 0+time.Microsecond, true, &Engine{}, nil)
			if seq.err != nil {
				t.Fatal(seq.err)
			}
			for seed := int64(1); seed <= int64(seeds); seed++ {
				limit := []int{0, 0, 1, 2, 3}[seed%5]
				r := runTraced(t, s, seed, 80*time.Microsecond, false, &Engine{Graph: true, Concurrency: limit}, nil)
				if r.err != nil {
					t.Fatalf("seed %d: %v", seed, r.err)
				}
				where := fmt.Sprintf("seed %d, cap %d", seed, limit)
				checkSchedule(t, r, where, limit)
				if r.sum.Changed != seq.sum.Changed || r.sum.Unchanged != seq.sum.Unchanged {
					t.Errorf("%s: changed %d, unchanged %d; the sequential run: %d, %d", where, r.sum.Changed, r.sum.Unchanged, seq.sum.Changed, seq.sum.Unchanged)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

func checkSchedule(t *testing.T, r *graphRun, where string, limit int) {
	t.Helper()
	tr, g := r.tr, r.g
	all, own := tr.spans(false), tr.spans(true)
	for n := range g.Nodes {
		if !all[n].ran {
			t.Errorf("%s: %s never ran", where, tr.name(n))
		}
	}
	for n, nd := range g.Nodes {
		for _, m := range nd.Needs {
			if all[m].end >= all[n].start {
				t.Errorf("%s: %s started (%d) before %s, which it needs, ended (%d)", where, tr.name(n), all[n].start, tr.name(m), all[m].end)
			}
		}
	}
	for _, e := range safetyPairs(g, r.spec) {
		if all[e[0]].end >= all[e[1]].start {
			t.Errorf("%s: safety: %s started before %s ended", where, tr.name(e[1]), tr.name(e[0]))
		}
	}
	// one node at a time per host
	byHost := map[string][]int{}
	for n, nd := range g.Nodes {
		byHost[nd.Host] = append(byHost[nd.Host], n)
	}
	for h, nodes := range byHost {
		for i, a := range nodes {
			for _, b := range nodes[i+1:] {
				if own[a].start < own[b].end && own[b].start < own[a].end {
					t.Errorf("%s: on %s, %s and %s ran at once", where, h, tr.name(a), tr.name(b))
				}
			}
		}
	}
	// a node's actions in plan order
	calls := append([]call(nil), tr.calls...)
	sort.Slice(calls, func(a, b int) bool { return calls[a].start < calls[b].start })
	lastAction := map[int]int{}
	for _, c := range calls {
		if c.action < lastAction[c.node] {
			t.Errorf("%s: %s ran action %d after action %d", where, tr.name(c.node), c.action, lastAction[c.node])
		}
		lastAction[c.node] = c.action
	}
	// the cap: nodes running at once, by their calls
	if limit > 0 {
		type edge struct {
			at    int64
			delta int
		}
		var edges []edge
		for _, s := range all {
			if s.ran {
				edges = append(edges, edge{s.start, 1}, edge{s.end, -1})
			}
		}
		sort.Slice(edges, func(a, b int) bool { return edges[a].at < edges[b].at })
		now, peak := 0, 0
		for _, e := range edges {
			now += e.delta
			peak = max(peak, now)
		}
		if peak > limit {
			t.Errorf("%s: %d nodes ran at once, over the cap of %d", where, peak, limit)
		}
	}
	checkStepEvents(t, r, where)
}

// Every step starts once, before its first action, and is done once,
// after its last; StepTimes list every step in plan order.
func checkStepEvents(t *testing.T, r *graphRun, where string) {
	t.Helper()
	startedAt, doneAt := map[string]int{}, map[string]int{}
	for i, ev := range r.rec.events {
		switch ev.Kind {
		case StepStarted:
			if _, dup := startedAt[ev.Step]; dup {
				t.Errorf("%s: step %s started twice", where, ev.Step)
			}
			startedAt[ev.Step] = i
		case StepDone:
			if _, dup := doneAt[ev.Step]; dup {
				t.Errorf("%s: step %s done twice", where, ev.Step)
			}
			doneAt[ev.Step] = i
		}
	}
	for i, ev := range r.rec.events {
		if ev.Kind == ActionDone {
			s, ok1 := startedAt[ev.Step]
			d, ok2 := doneAt[ev.Step]
			if !ok1 || !ok2 || i < s || i > d {
				t.Errorf("%s: an action of %s (%s) outside its step-started..step-done", where, ev.Step, ev.Action)
			}
		}
	}
	var ids []string
	for _, st := range r.sum.StepTimes {
		ids = append(ids, st.ID)
	}
	var want []string
	for _, st := range r.p.Steps {
		if _, ok := startedAt[st.ID]; ok {
			want = append(want, st.ID)
		}
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") || len(startedAt) != len(doneAt) {
		t.Errorf("%s: step times %v, want the steps that started in plan order %v (%d started, %d done)", where, ids, want, len(startedAt), len(doneAt))
	}
}

// The client cluster (corosync, dlm, lvmlockd) starts while DRBD syncs:
// the sync waits are released only once every client's cluster node is
// done, which a step-after-step run never reaches (it would hang: the
// sequential engine is run to show that it does). With every action taking
// the same time, the graph takes fewer rounds.
func TestGraphStartsTheClientClusterDuringTheSync(t *testing.T) {
	s := loadLab(t, "lab.toml")
	holdSync := func(r *graphRun) (release func(Event)) {
		var waits []string
		var clusterNodes int
		for si, st := range r.p.Steps {
			switch st.ID {
			case "drbd-sync":
				for _, a := range st.Actions {
					waits = append(waits, a.Host+"\x00"+a.Cmd.String())
					r.f.guards[a.Host+"\x00never-run "+a.Host] = a.Cmd.String()
				}
			case "cluster":
				clusterNodes = len(r.g.StepNodes[si])
			}
		}
		var mu sync.Mutex
		done := map[string]bool{}
		return func(ev Event) {
			if ev.Kind != ActionDone || ev.Step != "cluster" || !strings.Contains(ev.Action, "lvmlockd") {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			done[ev.Host] = true
			if len(done) == clusterNodes {
				r.f.mu.Lock()
				for _, w := range waits {
					r.f.done[w] = true
				}
				r.f.mu.Unlock()
			}
		}
	}
	run := func(graph bool, bound time.Duration) *graphRun {
		var release func(Event)
		rec := &recorder{}
		var r *graphRun
		e := &Engine{Graph: graph, Emit: func(ev Event) {
			rec.emit(ev)
			release(ev)
		}}
		p := markPlan(Build(s, nil))
		g, err := NewGraph(p)
		if err != nil {
			t.Fatal(err)
		}
		r = &graphRun{p: p, g: g, f: freshFake(p), tr: newTracer(g, 1, 500*time.Microsecond, true), rec: rec, spec: s}
		release = holdSync(r)
		e.Hosts, e.Poll = r.tr.source(r.f), time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		r.sum, r.err = e.Run(ctx, p)
		return r
	}
	gr := run(true, 60*time.Second)
	if gr.err != nil {
		t.Fatalf("the graph run did not finish (the sync waits for the client cluster): %v", gr.err)
	}
	checkSchedule(t, gr, "graph", 0)
	// the sequential engine waits for the sync before the cluster: it
	// cannot finish (bounded here by a short timeout, which is the point)
	seq := run(false, 2*time.Second)
	var se *StepError
	if !errors.As(seq.err, &se) || se.Step != "drbd-sync" || !errors.Is(seq.err, context.DeadlineExceeded) {
		t.Fatalf("the sequential run should hang at the sync, got %v", seq.err)
	}

	// rounds, with every call taking the same time and nothing held
	graphRounds := runTraced(t, s, 1, 500*time.Microsecond, true, &Engine{Graph: true}, nil)
	seqRounds := runTraced(t, s, 1, 500*time.Microsecond, true, &Engine{}, nil)
	if graphRounds.err != nil || seqRounds.err != nil {
		t.Fatal(graphRounds.err, seqRounds.err)
	}
	gwant, swant := graphRounds.g.Rounds()
	gotG, gotS := graphRounds.tr.rounds(), seqRounds.tr.rounds()
	t.Logf("lab.toml, one action a round: graph %d rounds (%d planned), sequential %d (%d planned)", gotG, gwant, gotS, swant)
	if gotG >= gotS {
		t.Errorf("the graph run took %d rounds, the sequential one %d: want fewer", gotG, gotS)
	}
	if gotS != swant {
		t.Errorf("the sequential run took %d rounds, Rounds says %d", gotS, swant)
	}
}

// The first failure starts no new node; the running ones finish.
func TestGraphFailureStartsNothingNew(t *testing.T) {
	s := loadLab(t, "lab.toml")
	failing := func(r *graphRun) (host string, node int) {
		for si, st := range r.p.Steps {
			if st.ID == "drbd-metadata" {
				for _, n := range r.g.StepNodes[si] {
					if r.g.Nodes[n].Host == "storage1b" {
						r.f.fail["storage1b\x00create-md"] = "refusing to write /dev/vdb: it holds a signature"
						return "storage1b", n
					}
				}
			}
		}
		t.Fatal("no drbd-metadata on storage1b")
		return "", 0
	}
	checkErr := func(t *testing.T, err error) {
		var se *StepError
		if !errors.As(err, &se) || se.Host != "storage1b" || se.Step != "drbd-metadata" {
			t.Fatalf("err = %v, want the failure of drbd-metadata on storage1b", err)
		}
	}

	t.Run("one node at a time: the failing one is the last", func(t *testing.T) {
		var fnode int
		r := runTraced(t, s, 7, 100*time.Microsecond, false, &Engine{Graph: true, Concurrency: 1}, func(r *graphRun) { _, fnode = failing(r) })
		checkErr(t, r.err)
		sp := r.tr.spans(false)
		for n, x := range sp {
			if x.ran && n != fnode && x.start > sp[fnode].end {
				t.Errorf("%s started after %s failed", r.tr.name(n), r.tr.name(fnode))
			}
		}
		checkStepEvents(t, r, "cap 1")
	})

	t.Run("no cap: a running node finishes, what needs the failure never starts", func(t *testing.T) {
		// client0's quorum wait is entered before storage1b fails, and held
		// until it has: client0's cluster node is running at the failure
		inWait, failed := make(chan struct{}), make(chan struct{})
		var once1, once2 sync.Once
		var fnode int
		rec := &recorder{}
		e := &Engine{Graph: true, NoPrefetch: true, Emit: func(ev Event) {
			rec.emit(ev)
			if ev.Kind == Failed {
				once2.Do(func() { close(failed) })
			}
		}}
		r := runTraced(t, s, 3, 100*time.Microsecond, false, e, func(r *graphRun) {
			_, fnode = failing(r)
			r.rec = rec
			r.tr.before = func(host string, si, ai int, text string) {
				a := r.p.Steps[si].Actions[ai]
				switch {
				case host == "client0" && strings.Contains(a.Desc, "quorate"):
					once1.Do(func() { close(inWait) })
					<-failed
				case host == "storage1b" && strings.Contains(text, "create-md"):
					<-inWait
				}
			}
		})
		checkErr(t, r.err)
		var dlm bool
		for _, c := range r.f.commands("client0") {
			dlm = dlm || strings.Contains(c, "enable --now dlm.service")
		}
		if !dlm {
			t.Error("client0's cluster node, running at the failure, did not finish (dlm not started)")
		}
		// the nodes that need the failed one, even through others
		needs := map[int]bool{fnode: true}
		for n, nd := range r.g.Nodes {
			for _, m := range nd.Needs {
				if needs[m] {
					needs[n] = true
				}
			}
		}
		sp := r.tr.spans(false)
		for n := range needs {
			if n != fnode && sp[n].ran {
				t.Errorf("%s ran, though it needs %s, which failed", r.tr.name(n), r.tr.name(fnode))
			}
		}
		checkStepEvents(t, r, "no cap")
	})
}

// Stop lets the running nodes finish and starts none; the next run resumes,
// its probes skipping what is done: no command runs twice.
func TestGraphStopThenResume(t *testing.T) {
	s := loadLab(t, "lab.toml")
	stop := make(chan struct{})
	var once sync.Once
	var stoppedAt int
	rec := &recorder{}
	e := &Engine{Graph: true, Stop: stop, Emit: func(ev Event) {
		rec.emit(ev)
		if ev.Kind == StepDone && ev.Step == "drbd-config" {
			once.Do(func() { stoppedAt = len(rec.events); close(stop) })
		}
	}}
	r := runTraced(t, s, 5, 100*time.Microsecond, false, e, func(r *graphRun) { r.rec = rec })
	if !errors.Is(r.err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", r.err)
	}
	for _, ev := range rec.events[stoppedAt:] {
		if ev.Kind == StepStarted {
			t.Errorf("step %s started after the stop", ev.Step)
		}
	}
	checkStepEvents(t, r, "stopped")
	first := len(r.f.log)
	if first == 0 {
		t.Fatal("nothing ran before the stop")
	}
	sum, err := (&Engine{Graph: true, Hosts: r.tr.source(r.f), Poll: time.Millisecond}).Run(context.Background(), r.p)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if sum.Changed == 0 || sum.Unchanged == 0 {
		t.Errorf("resume: %+v, want both changes and work found done", sum)
	}
	seen := map[string]bool{}
	for _, l := range r.f.log {
		if seen[l] {
			t.Errorf("ran twice: %s", l)
		}
		seen[l] = true
	}
}

// A cancelled context starts nothing more and ends the run with its error.
func TestGraphContextCancelled(t *testing.T) {
	p := markPlan(Build(loadLab(t, "lab.toml"), nil))
	f := freshFake(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	var at int
	e := &Engine{Graph: true, Hosts: f.source(), Poll: time.Millisecond, Emit: func(ev Event) {
		rec.emit(ev)
		if ev.Kind == StepDone && ev.Step == "modules" && at == 0 {
			at = len(rec.events)
			cancel()
		}
	}}
	_, err := e.Run(ctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, ev := range rec.events[at:] {
		if ev.Kind == StepStarted {
			t.Errorf("step %s started after the cancel", ev.Step)
		}
	}
}

// A graph dry run on a new cluster changes nothing and finds what the
// sequential one finds; a graph apply builds it, and a graph re-apply
// changes nothing, every probe answered by one batched command per host.
func TestGraphDryRunApplyReapply(t *testing.T) {
	s := loadLab(t, "lab.toml")
	p := Build(s, nil)
	f := newFakeCluster(p)
	ctx := context.Background()
	seqDry, err1 := (&Engine{Hosts: f.source(), DryRun: true, Poll: time.Millisecond}).Run(ctx, p)
	graphDry, err2 := (&Engine{Graph: true, Hosts: f.source(), DryRun: true, Poll: time.Millisecond}).Run(ctx, p)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if len(f.log) != 0 || graphDry.WouldChange == 0 || graphDry.WouldChange != seqDry.WouldChange {
		t.Fatalf("dry runs: graph would change %d, sequential %d; commands run: %v", graphDry.WouldChange, seqDry.WouldChange, f.log)
	}
	if sum, err := (&Engine{Graph: true, Hosts: f.source(), Poll: time.Millisecond}).Run(ctx, p); err != nil || sum.Changed == 0 {
		t.Fatalf("apply: %+v %v", sum, err)
	}
	before := len(f.log)
	f.runs, f.prefetches = 0, 0
	sum, err := (&Engine{Graph: true, Hosts: f.source(), Poll: time.Millisecond}).Run(ctx, p)
	if err != nil || sum.Changed != 0 || len(f.log) != before {
		t.Fatalf("re-apply changed %d (%v): %v", sum.Changed, err, f.log[before:])
	}
	if hosts := len(p.Hosts()); f.runs != hosts || f.prefetches != hosts {
		t.Errorf("re-apply ran %d commands (%d batched probes) on %d hosts: want one per host", f.runs, f.prefetches, hosts)
	}
}
