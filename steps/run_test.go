package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"scalestore/config"
)

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

func (r *recorder) kinds(k EventKind) []Event {
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestApplyThenReapplyChangesNothing(t *testing.T) {
	s := sample(t, config.ProfileDebian12)
	p := Build(s, nil)
	f := newFakeCluster(p)
	rec := &recorder{}
	e := &Engine{Hosts: f.source(), Emit: rec.emit, Poll: time.Millisecond}
	sum, err := e.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Changed == 0 || sum.WouldChange != 0 {
		t.Fatalf("first apply: %+v", sum)
	}
	// STACK.md's order on a storage host: metadata, up, primary, then export.
	cmds := strings.Join(f.commands("storage0b"), "\n")
	order := []string{"create-md --force r0", "drbdadm adjust r0", "drbdadm primary r0", "/backstores/block create name=r0"}
	last := -1
	for _, o := range order {
		i := strings.Index(cmds, o)
		if i < 0 || i < last {
			t.Fatalf("on storage0b %q is missing or out of order:\n%s", o, cmds)
		}
		last = i
	}
	// The sync source is only the a-half.
	if strings.Contains(cmds, "primary --force") || !strings.Contains(strings.Join(f.commands("storage0a"), "\n"), "primary --force r0") {
		t.Error("only storage0a may force itself primary for r0")
	}

	// Dry run on the built cluster: nothing would change.
	rec2 := &recorder{}
	dry := &Engine{Hosts: f.source(), Emit: rec2.emit, DryRun: true, Poll: time.Millisecond}
	sum2, err := dry.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.WouldChange != 0 || sum2.Changed != 0 {
		t.Fatalf("dry run on a built cluster would change %d", sum2.WouldChange)
	}
	// Second apply: 0 changed, and the run-done event says so; every probe
	// was answered by one batched command per host (plus the secret's copy).
	rec3 := &recorder{}
	before := len(f.log)
	f.runs, f.prefetches = 0, 0
	e3 := &Engine{Hosts: f.source(), Emit: rec3.emit, Poll: time.Millisecond}
	sum3, err := e3.Run(context.Background(), p)
	if err != nil || sum3.Changed != 0 || len(f.log) != before {
		t.Fatalf("second apply changed %d (err %v): %v", sum3.Changed, err, f.log[before:])
	}
	done := rec3.kinds(RunDone)
	if len(done) != 1 || done[0].Changed != 0 || done[0].Unchanged == 0 {
		t.Fatalf("run-done: %+v", done)
	}
	hosts := len(s.StorageHosts()) + len(s.Clients)
	if f.prefetches != hosts || f.runs != hosts {
		t.Fatalf("re-apply ran %d commands (%d batched probes) for %d hosts: want one per host", f.runs, f.prefetches, hosts)
	}
	// Without the prefetch, the same run probes action by action.
	f.runs = 0
	if _, err := (&Engine{Hosts: f.source(), NoPrefetch: true, Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if f.runs <= 2*hosts {
		t.Fatalf("without prefetch only %d commands ran", f.runs)
	}
}

func TestDryRunOnFreshClusterChangesNothing(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	f := newFakeCluster(p)
	sum, err := (&Engine{Hosts: f.source(), DryRun: true, Poll: time.Millisecond}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.log) != 0 {
		t.Fatalf("dry run ran commands: %v", f.log)
	}
	if sum.WouldChange == 0 {
		t.Fatal("dry run on a fresh cluster must report what would change")
	}
}

func TestFailureStopsTheRunWithContext(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	f := newFakeCluster(p)
	f.fail["storage1b\x00create-md"] = "refusing to write /dev/sdb: it holds a signature, partition, mount or holder"
	rec := &recorder{}
	_, err := (&Engine{Hosts: f.source(), Emit: rec.emit, Poll: time.Millisecond}).Run(context.Background(), p)
	var se *StepError
	if !errors.As(err, &se) || se.Host != "storage1b" || se.Step != "drbd-metadata" {
		t.Fatalf("err = %v", err)
	}
	fails := rec.kinds(Failed)
	if len(fails) != 1 || fails[0].Code != 3 || !strings.Contains(fails[0].Stderr, "refusing to write /dev/sdb") || !strings.Contains(fails[0].Cmd, "create-md") {
		t.Fatalf("failed event: %+v", fails)
	}
	for _, c := range f.commands("storage0a") {
		if strings.Contains(c, "adjust") {
			t.Fatal("a later step ran after a failure")
		}
	}
	// The other hosts of the failing step finished their work.
	if !strings.Contains(strings.Join(f.commands("storage0a"), "\n"), "create-md --force r0") {
		t.Fatal("storage0a's part of the step did not run")
	}
}

func TestSyncProgressFromProcDRBD(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	f := newFakeCluster(p)
	// the sync wait is unsatisfied twice, while /proc/drbd shows the resync
	syncWait := ""
	for _, st := range p.Steps {
		if st.ID == "drbd-sync" {
			syncWait = st.Actions[0].Cmd.String()
		}
	}
	f.guards["storage0a\x00never-run"] = syncWait
	f.procs["storage0a"] = []string{capture(t, "drbd-status-during-resync.txt")}
	// the resync ends once the engine has reported its progress: the wait
	// is released by what the test asserts on, not by a guessed delay
	rec := &recorder{}
	emit := func(ev Event) {
		rec.emit(ev)
		if ev.Kind == ProgressMsg {
			f.mu.Lock()
			f.done["storage0a\x00"+syncWait] = true
			f.mu.Unlock()
		}
	}
	// a bound for the failure only: without progress the wait never ends
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := (&Engine{Hosts: f.source(), Emit: emit, Poll: 5 * time.Millisecond}).Run(ctx, p); err != nil {
		t.Fatal(err)
	}
	prog := rec.kinds(ProgressMsg)
	if len(prog) == 0 {
		t.Fatal("no progress events while waiting for the sync")
	}
	pr := prog[0].Progress
	if pr.Resource != "r0" || pr.Percent != 6.3 || pr.SpeedKiBps != 1976 || pr.ETA != "0:00:31" || pr.State != "SyncTarget" {
		t.Fatalf("progress %+v", pr)
	}
}

func TestStopFinishesRunningActionsThenEnds(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	f := newFakeCluster(p)
	stop := make(chan struct{})
	rec := &recorder{}
	var once sync.Once
	e := &Engine{Hosts: f.source(), Stop: stop, Poll: time.Millisecond, Emit: func(ev Event) {
		rec.emit(ev)
		if ev.Kind == StepDone && ev.Step == "drbd-config" {
			once.Do(func() { close(stop) })
		}
	}}
	_, err := e.Run(context.Background(), p)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v", err)
	}
	for _, ev := range rec.kinds(StepStarted) {
		if ev.Step == "drbd-metadata" {
			t.Fatal("a step started after stop")
		}
	}
	// Resume: the next run finishes, skipping what is done.
	sum, err := (&Engine{Hosts: f.source(), Poll: time.Millisecond}).Run(context.Background(), p)
	if err != nil || sum.Unchanged == 0 || sum.Changed == 0 {
		t.Fatalf("resume: %+v %v", sum, err)
	}
}

func TestSecretNeverInEvents(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	f := newFakeCluster(p)
	f.files["client0/etc/corosync/authkey"] = []byte("SUPERSECRETKEYBYTES")
	rec := &recorder{}
	if _, err := (&Engine{Hosts: f.source(), Emit: rec.emit, Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if string(f.files["client1/etc/corosync/authkey"]) != "SUPERSECRETKEYBYTES" {
		t.Fatal("authkey not copied to client1")
	}
	for _, ev := range rec.events {
		if strings.Contains(ev.Text+ev.Error+ev.Cmd+ev.Stderr+ev.Action, "SUPERSECRET") {
			t.Fatalf("secret leaked in %+v", ev)
		}
	}
}

// action finds the action of a step on a host by its description.
func action(t *testing.T, p *Plan, step, host, desc string) Action {
	t.Helper()
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if st.ID == step && a.Host == host && a.Desc == desc {
				return a
			}
		}
	}
	t.Fatalf("no action %q of %s on %s", desc, step, host)
	return Action{}
}

// The prefetch answers every probe before the first step; an earlier action
// of the same run can make its answers stale, both ways. The engine asks
// again: an action the prefetch found to do is skipped when an earlier one
// did it already, and one the prefetch found done runs when an earlier one
// undid it.
func TestPrefetchedAnswersAfterAChange(t *testing.T) {
	p := Build(sample(t, config.ProfileDebian12), nil)
	early := action(t, p, "drbd-metadata", "storage0a", "create DRBD metadata for r0 on /dev/sdb")
	later := action(t, p, "drbd-up", "storage0a", "attach and connect r0")
	ran := func(f *fakeCluster, a Action) int {
		n := 0
		for _, c := range f.commands("storage0a") {
			if c == a.Cmd.String() {
				n++
			}
		}
		return n
	}

	t.Run("done by an earlier action", func(t *testing.T) {
		f := newFakeCluster(p)
		f.after["storage0a\x00"+early.Cmd.String()] = func() { f.done["storage0a\x00"+later.Unless.String()] = true }
		if _, err := (&Engine{Hosts: f.source(), Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if ran(f, early) != 1 || ran(f, later) != 0 {
			t.Fatalf("%q ran %d times, %q %d times: want once, and never (an earlier action did it)", early.Desc, ran(f, early), later.Desc, ran(f, later))
		}
	})

	t.Run("undone by an earlier action", func(t *testing.T) {
		f := newFakeCluster(p)
		if _, err := (&Engine{Hosts: f.source(), Poll: time.Millisecond}).Run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		// the built cluster's metadata is gone again; making it anew
		// takes the resource down
		delete(f.done, "storage0a\x00"+early.Unless.String())
		f.after["storage0a\x00"+early.Cmd.String()] = func() { delete(f.done, "storage0a\x00"+later.Unless.String()) }
		before := ran(f, later)
		rec := &recorder{}
		sum, err := (&Engine{Hosts: f.source(), Emit: rec.emit, Poll: time.Millisecond}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if ran(f, later) != before+1 {
			t.Fatalf("%q did not run again after %q undid it (prefetched as done)", later.Desc, early.Desc)
		}
		if sum.Changed != 2 {
			t.Errorf("changed %d, want the 2 actions", sum.Changed)
		}
	})
}
