package steps

import (
	"context"
	"fmt"
	"sort"
)

// Change is an action a run of the plan will really make: its probe does
// not hold on the host today.
type Change struct {
	Step, StepTitle string
	Host, Action    string
	Destructive     bool
}

// Review probes the hosts as apply --dry-run does, changing nothing, and
// returns what a run of the plan would change, in the plan's order. Actions
// already so (the existing pairs of a cluster that grows, say) are not in
// it. The error is the dry run's: a host that could not be reached or
// probed.
func Review(ctx context.Context, p *Plan, hosts HostSource) ([]Change, error) {
	type key struct{ step, host, action string }
	order := map[key]int{}
	destructive := map[key]bool{}
	titles := map[string]string{}
	for _, st := range p.Steps {
		titles[st.ID] = st.Title
		for _, a := range st.Actions {
			k := key{st.ID, a.Host, a.Desc}
			if _, ok := order[k]; !ok {
				order[k] = len(order)
			}
			destructive[k] = destructive[k] || a.Destructive
		}
	}
	var out []Change
	e := &Engine{Hosts: hosts, DryRun: true, Emit: func(ev Event) {
		if ev.Kind == ActionDone && ev.Outcome == WouldChange {
			k := key{ev.Step, ev.Host, ev.Action}
			out = append(out, Change{Step: ev.Step, StepTitle: titles[ev.Step], Host: ev.Host, Action: ev.Action, Destructive: destructive[k]})
		}
	}}
	if _, err := e.Run(ctx, p); err != nil {
		return nil, fmt.Errorf("probe what cluster %s would change: %w", p.Cluster, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return order[key{out[i].Step, out[i].Host, out[i].Action}] < order[key{out[j].Step, out[j].Host, out[j].Action}]
	})
	return out, nil
}

// Destructive is the changes that overwrite data on a disk.
func Destructive(cs []Change) []Change {
	var out []Change
	for _, c := range cs {
		if c.Destructive {
			out = append(out, c)
		}
	}
	return out
}
