package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"scalestore/steps"
)

// --schedule and --concurrency refuse what they do not take, on apply and
// on the wizard's root command: exit 2, the allowed values named, nothing
// run (no spec read, no host reached, no wizard drawn).
func TestScheduleFlagsBadValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--schedule", "fast", "-f", "lab/lab.toml"}, `--schedule "fast": it is "graph" or "steps"`},
		{[]string{"apply", "--schedule", "", "-f", "lab/lab.toml"}, `--schedule "": it is "graph" or "steps"`},
		{[]string{"apply", "--concurrency", "-1", "-f", "lab/lab.toml"}, "--concurrency -1: it is 0 (no cap) or more"},
		{[]string{"apply", "--concurrency", "many", "-f", "lab/lab.toml"}, `invalid argument "many" for "--concurrency"`},
		{[]string{"--schedule", "Graph", "-f", "lab/lab.toml"}, `--schedule "Graph": it is "graph" or "steps"`},
		{[]string{"--concurrency", "-3"}, "--concurrency -3: it is 0 (no cap) or more"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := cli(t, c.args...)
			if code != exitBadInput || out != "" || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, exitBadInput, out, errs, c.want)
			}
		})
	}
}

// apply's flags reach the engine: the default runs the graph with no cap;
// --schedule steps runs step after step; --concurrency caps both.
func TestScheduleFlagsReachTheEngine(t *testing.T) {
	for _, c := range []struct {
		args        []string
		graph       bool
		concurrency int
	}{
		{nil, true, 0},
		{[]string{"--schedule", "steps"}, false, 0},
		{[]string{"--schedule", "graph"}, true, 0},
		{[]string{"--schedule=graph", "--concurrency", "4"}, true, 4},
		{[]string{"--concurrency", "2"}, true, 2},
	} {
		var o applyOpts
		cmd := applyCommand(&o)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if err := o.sched.check(); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		e := o.engine(nil, nil, nil)
		if e.Graph != c.graph || e.Concurrency != c.concurrency || e.Parallel != c.concurrency {
			t.Errorf("apply %v: engine Graph %v Concurrency %d Parallel %d, want %v %d %d", c.args, e.Graph, e.Concurrency, e.Parallel, c.graph, c.concurrency, c.concurrency)
		}
	}
}

// apply --json's run-started carries the plan as a graph: how the run is
// ordered, and every step with its hosts and the steps it needs (those of
// plan --graph), "schema" still 1.
func TestRunStartedJSONListsTheGraph(t *testing.T) {
	s, err := loadSpec("lab/lab.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := steps.Build(s, nil)
	g, err := steps.NewGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args        []string
		schedule    string
		concurrency int
	}{
		{[]string{"--schedule", "graph", "--concurrency", "3"}, "graph", 3},
		{nil, "graph", 0},
		{[]string{"--schedule", "steps"}, "steps", 0},
	} {
		var o applyOpts
		if err := applyCommand(&o).ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		pr := newPrinter(&out, true, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // run-started, then the run ends before any host is reached
		o.engine(nil, pr.event, nil).Run(ctx, p)
		first, _, _ := strings.Cut(out.String(), "\n")
		var got struct {
			Schema      int    `json:"schema"`
			Kind        string `json:"kind"`
			Schedule    string `json:"schedule"`
			Concurrency int    `json:"concurrency"`
			Steps       []struct {
				ID, Title string
				Hosts     []string
				Needs     []string
			} `json:"steps"`
		}
		if err := json.Unmarshal([]byte(first), &got); err != nil {
			t.Fatalf("%v: first line %q: %v", c.args, first, err)
		}
		if got.Schema != 1 || got.Kind != "run-started" || got.Schedule != c.schedule || got.Concurrency != c.concurrency {
			t.Errorf("%v: schema %d kind %q schedule %q concurrency %d, want 1 run-started %q %d", c.args, got.Schema, got.Kind, got.Schedule, got.Concurrency, c.schedule, c.concurrency)
		}
		if len(got.Steps) != len(p.Steps) {
			t.Fatalf("%v: %d steps listed, the plan has %d", c.args, len(got.Steps), len(p.Steps))
		}
		for si, st := range p.Steps {
			js := got.Steps[si]
			var needs []string
			for _, n := range g.Needs[si] {
				needs = append(needs, n.String())
			}
			if js.ID != st.ID || js.Title != st.Title || !slices.Equal(js.Hosts, st.Hosts()) || !slices.Equal(js.Needs, needs) && len(needs)+len(js.Needs) > 0 {
				t.Errorf("%v: step %d listed as %+v, want %s on %v needing %v", c.args, si, js, st.ID, st.Hosts(), needs)
			}
		}
		// import waits for every export and its own host's packages and modules
		for _, js := range got.Steps {
			if js.ID == "import" && !slices.Equal(js.Needs, []string{"packages@host", "modules@host", "export"}) {
				t.Errorf("%v: import needs %v", c.args, js.Needs)
			}
		}
	}
}
