package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"scalestore/steps"
)

// scheduleOpts are apply's and the wizard's --schedule and --concurrency:
// how the plan runs.
type scheduleOpts struct {
	schedule    string
	concurrency int
}

// defaultSchedule is --schedule's default.
const defaultSchedule = steps.ScheduleGraph

func (o *scheduleOpts) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.schedule, "schedule", defaultSchedule, `how the plan runs: "steps" (step after step, the hosts of a step in parallel) or "graph" (each step on each host as soon as the steps it needs are done: several steps at once; scalestore plan --graph shows the needs)`)
	fs.IntVar(&o.concurrency, "concurrency", 0, "the most hosts working at once (graph: steps on hosts; steps: hosts of a step); 0: no cap")
}

// check refuses values the flags do not take (exit 2).
func (o scheduleOpts) check() error {
	switch o.schedule {
	case steps.ScheduleSteps, steps.ScheduleGraph:
	default:
		return badInput{fmt.Errorf("--schedule %q: it is %q or %q", o.schedule, steps.ScheduleGraph, steps.ScheduleSteps)}
	}
	if o.concurrency < 0 {
		return badInput{fmt.Errorf("--concurrency %d: it is 0 (no cap) or more", o.concurrency)}
	}
	return nil
}

func (o scheduleOpts) graph() bool { return o.schedule == steps.ScheduleGraph }

// apply sets an engine's schedule: the cap is on the hosts of a step (and
// the probes read before the run) as on a graph run's nodes.
func (o scheduleOpts) apply(e *steps.Engine) {
	e.Graph = o.graph()
	e.Parallel, e.Concurrency = o.concurrency, o.concurrency
}
