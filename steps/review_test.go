package steps

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Growing a built cluster by a pair, the review lists what the probes say
// is to do: the new pair's actions, not the existing halves' metadata (the
// wizard once listed create-md on storage0a when adding storage2).
func TestReviewOfAGrownClusterListsOnlyTheNewPair(t *testing.T) {
	built := Build(loadLab(t, "lab.toml"), nil)
	f := newFakeCluster(built)
	e := &Engine{Hosts: f.source(), Poll: time.Millisecond}
	if _, err := e.Run(context.Background(), built); err != nil {
		t.Fatal(err)
	}
	if cs, err := Review(context.Background(), built, f.source()); err != nil || len(cs) != 0 {
		t.Fatalf("on the built cluster the review lists %d changes (err %v): %+v", len(cs), err, cs)
	}

	grown := Build(loadLab(t, "lab-grow.toml"), nil)
	f.mu.Lock()
	f.plan = grown
	for _, st := range grown.Steps {
		for _, a := range st.Actions {
			if a.Unless != nil {
				f.guards[a.Host+"\x00"+a.Cmd.String()] = a.Unless.String()
			}
		}
	}
	f.mu.Unlock()
	before := len(f.log)
	cs, err := Review(context.Background(), grown, f.source())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.log) != before {
		t.Fatalf("the review changed the hosts: %v", f.log[before:])
	}
	var md []string
	for _, c := range Destructive(cs) {
		if strings.HasPrefix(c.Action, "create DRBD metadata") {
			md = append(md, c.Host)
		}
		if !strings.Contains(c.Action, "r2") && !strings.Contains(c.Action, "mpath2") {
			t.Errorf("destructive change not of the new pair r2 (or its LUN mpath2): %s on %s", c.Action, c.Host)
		}
	}
	if strings.Join(md, " ") != "storage2a storage2b" {
		t.Errorf("create DRBD metadata is listed on %v, want the new halves storage2a storage2b only", md)
	}
	all := 0
	for _, st := range grown.Steps {
		for _, a := range st.Actions {
			if a.Destructive {
				all++
			}
		}
	}
	if n := len(Destructive(cs)); n == 0 || n >= all {
		t.Errorf("%d destructive changes listed of the plan's %d: want the new pair's only", n, all)
	}
}
