package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"scalestore/steps"
)

// graphEvents are the events of a graph run of p (as the engine emits
// them) up to two steps running at once: the DRBD sync on the storage
// hosts while the clients start their cluster.
func graphEvents(t *testing.T, p *steps.Plan) []tea.Msg {
	t.Helper()
	msgs := []tea.Msg{ev(steps.RunStarted, "", func(e *steps.Event) {
		e.Schedule, e.Steps = steps.ScheduleGraph, steps.PlanSteps(p)
	})}
	byID := map[string]steps.Step{}
	for _, st := range p.Steps {
		byID[st.ID] = st
	}
	host := map[bool]string{true: "storage0a", false: "client0"}
	started := func(id string) tea.Msg {
		st, ok := byID[id]
		if !ok {
			t.Fatalf("no step %s in the plan", id)
		}
		return ev(steps.StepStarted, id, func(e *steps.Event) { e.Title = st.Title })
	}
	done := func(id string, storage bool) []tea.Msg {
		st := byID[id]
		h := host[storage]
		return []tea.Msg{
			ev(steps.LogLine, id, func(e *steps.Event) { e.Host, e.Stream, e.Text = h, "stdout", "ok: "+st.Title }),
			ev(steps.ActionDone, id, func(e *steps.Event) { e.Host, e.Action, e.Outcome = h, st.Title, steps.Changed }),
			ev(steps.StepDone, id, func(e *steps.Event) {
				e.Title, e.Changed, e.Unchanged, e.Elapsed = st.Title, 2, 1, 1500*time.Millisecond
			}),
		}
	}
	for _, id := range []string{"packages", "modules", "drbd-config", "drbd-metadata", "drbd-up", "drbd-initial-sync"} {
		msgs = append(msgs, started(id))
		msgs = append(msgs, done(id, true)...)
	}
	msgs = append(msgs, started("drbd-sync"), ev(steps.ProgressMsg, "drbd-sync", func(e *steps.Event) {
		e.Host = "storage0b"
		e.Progress = &steps.Progress{Resource: "r0", Percent: 6.3, SpeedKiBps: 1946, ETA: "0:00:31", State: "SyncTarget", Disks: "Inconsistent/UpToDate"}
	}))
	// the clients' steps need no DRBD step: they run during the sync
	for _, id := range []string{"lvm-config", "cluster-key"} {
		msgs = append(msgs, started(id))
		msgs = append(msgs, done(id, false)...)
	}
	msgs = append(msgs, started("cluster"),
		ev(steps.LogLine, "cluster", func(e *steps.Event) {
			e.Host, e.Stream, e.Text = "client0", "stdout", "corosync: waiting for quorum (2 of 2 votes)"
		}))
	return msgs
}

// A graph run shows every step that runs, each with its spinner, whatever
// the size of the terminal; the title counts them. At 80x24 and 60x15.
func TestRunShowsEveryRunningStep(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			h := atRun(t)
			a := h.app()
			h.send(graphEvents(t, a.run.plan)...)
			h.resize(sz[0], sz[1])
			a.run.spin.Spinner.Frames = []string{"*"}
			s := h.screen()
			for _, want := range []string{"Applying: 2 steps at once, 8 of 26 done", "* Wait for the DRBD sync", "* Start the client cluster",
				"✓ Make the corosync authkey", "DRBD r0 SyncTarget", "waiting for quorum"} {
				if !strings.Contains(s, truncate(want, sz[0]-2)) {
					t.Errorf("the run screen lacks %q:\n%s", want, s)
				}
			}
			if n := len(regexp.MustCompile(`(?m)^ +\* `).FindAllString(s, -1)); n != 2 {
				t.Errorf("%d steps drawn running, want 2:\n%s", n, s)
			}
			golden(t, fmt.Sprintf("run-graph-%dx%d", sz[0], sz[1]), s)
		})
	}
}

// More steps running than the window holds: the first ones shown, each
// running; none pending or done in their place.
func TestStepWindowKeepsTheRunningSteps(t *testing.T) {
	for _, c := range []struct {
		n, show int
		running []int
		want    string
	}{
		{26, 5, []int{6, 14}, "[5 6 7 13 14]"},
		{26, 8, []int{6, 14}, "[4 5 6 7 8 13 14 15]"},
		{26, 3, []int{1, 2, 3, 4}, "[1 2 3]"},
		{26, 5, []int{0, 25}, "[0 1 2 24 25]"},
		{4, 8, []int{1, 2}, "[0 1 2 3]"},
	} {
		if got := fmt.Sprint(nearest(c.n, c.show, c.running)); got != c.want {
			t.Errorf("nearest(%d, %d, %v) = %s, want %s", c.n, c.show, c.running, got, c.want)
		}
	}
}

// The wizard's --schedule graph and --concurrency (Options) reach the
// engine: the run log's run-started says so, and the run ends well.
func TestWizardRunsTheGraph(t *testing.T) {
	if a := newApp(context.Background(), Options{Graph: true, Concurrency: 2}); a.schedule != (schedule{graph: true, concurrency: 2}) {
		t.Fatalf("Options give the schedule %+v", a.schedule)
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path := copyFile(t, "grow.toml")
	builtSpec(t, path)
	f := newFakeHosts(t)
	for _, built := range []string{"storage0a", "storage0b", "storage1a", "storage1b", "client0", "client1", "storage2a", "storage2b", "spare"} {
		f.built[built] = true
	}
	h := newTestApp(t, path, f)
	a := h.app()
	a.schedule = schedule{graph: true, concurrency: 2}
	h.keys("r")
	h.waitFor("preflight", func() bool { return !a.preflight.running })
	h.keys("enter")
	h.waitFor("the probes", func() bool { return !a.review.probing })
	h.keys("enter")
	h.waitFor("the run to end", func() bool { return a.screen == scrDone })
	if a.done.out.err != nil {
		t.Fatalf("run: %v", a.done.out.err)
	}
	data, err := os.ReadFile(a.run.logPath)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	var got steps.Event
	if err := json.Unmarshal([]byte(first), &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != steps.RunStarted || got.Schedule != steps.ScheduleGraph || got.Concurrency != 2 || len(got.Steps) != len(a.run.plan.Steps) {
		t.Errorf("run log's first event: %s", first)
	}
}
