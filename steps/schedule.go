package steps

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// runGraph runs the plan as its graph (Engine.Graph): every node (a step on
// one host) starts as soon as the nodes it needs are done, capped at one
// node per host — so a host never runs two things at once and its actions
// of a step keep their plan order; a free host takes its first ready node in
// plan order — and at Concurrency nodes overall (0: Parallel; 0 there too:
// no cap). The first failure starts no new node; the running ones finish,
// as do Stop and ctx. A step starts (StepStarted) when its first node
// starts and is done (StepDone) when its last node is; a step begun when
// the run ended is done then. Summary.StepTimes stay in plan order, each
// the span from a step's first node's start to its last node's end: in a
// graph run the spans overlap, and their sum exceeds Summary.Elapsed.
func (e *Engine) runGraph(ctx context.Context, p *Plan, sum *Summary) error {
	g, err := NewGraph(p)
	if err != nil {
		return fmt.Errorf("plan graph: %w", err)
	}
	limit := e.Concurrency
	if limit <= 0 {
		limit = e.Parallel
	}
	n := len(g.Nodes)
	pending := make([]int, n) // needs not done yet
	dependents := make([][]int, n)
	for i, nd := range g.Nodes {
		pending[i] = len(nd.Needs)
		for _, m := range nd.Needs {
			dependents[m] = append(dependents[m], i)
		}
	}
	type result struct {
		node int
		c    counts
		err  error
	}
	type stepState struct {
		started bool
		left    int // nodes not done
		start   time.Time
		total   counts
		done    bool
	}
	states := make([]stepState, len(p.Steps))
	for si := range p.Steps {
		states[si].left = len(g.StepNodes[si])
	}
	times := make([]*StepTime, len(p.Steps)) // of the steps done
	finish := func(si int) {
		st, ss := p.Steps[si], &states[si]
		ss.done = true
		el := time.Since(ss.start)
		sum.Changed += ss.total.changed
		sum.Unchanged += ss.total.unchanged
		sum.WouldChange += ss.total.would
		times[si] = &StepTime{ID: st.ID, Title: st.Title, Elapsed: el, Changed: ss.total.changed + ss.total.would}
		e.emit(Event{Kind: StepDone, Step: st.ID, Title: st.Title, Changed: ss.total.changed + ss.total.would, Unchanged: ss.total.unchanged, Elapsed: el})
	}
	results := make(chan result)
	started := make([]bool, n)
	busy := map[string]bool{}
	running, unstarted := 0, n
	var runErr error
	for {
		if runErr == nil && unstarted > 0 {
			if e.stopped() {
				runErr = ErrStopped
			} else if err := ctx.Err(); err != nil {
				runErr = err
			}
		}
		for i := 0; runErr == nil && i < n && (limit <= 0 || running < limit); i++ {
			nd := g.Nodes[i]
			if started[i] || pending[i] > 0 || busy[nd.Host] {
				continue
			}
			started[i], busy[nd.Host] = true, true
			running++
			unstarted--
			si := nd.Step
			st := p.Steps[si]
			if !states[si].started {
				states[si].started, states[si].start = true, time.Now()
				e.emit(Event{Kind: StepStarted, Step: st.ID, Title: st.Title})
			}
			actions := make([]indexed, len(nd.Actions))
			for k, ai := range nd.Actions {
				actions[k] = indexed{st.Actions[ai], fmt.Sprintf("%d/%d", si, ai)}
			}
			go func(i int) {
				c, err := e.runHost(ctx, st, nd.Host, actions)
				results <- result{i, c, err}
			}(i)
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		nd := g.Nodes[r.node]
		busy[nd.Host] = false
		ss := &states[nd.Step]
		ss.total.changed += r.c.changed
		ss.total.unchanged += r.c.unchanged
		ss.total.would += r.c.would
		if r.err != nil && runErr == nil {
			runErr = r.err
		}
		for _, d := range dependents[r.node] {
			pending[d]--
		}
		if ss.left--; ss.left == 0 {
			finish(nd.Step)
		}
	}
	// the steps begun when the run ended are done now
	for si := range p.Steps {
		if states[si].started && !states[si].done {
			finish(si)
		}
	}
	for _, st := range times { // in plan order
		if st != nil {
			sum.StepTimes = append(sum.StepTimes, *st)
		}
	}
	if runErr == nil && unstarted > 0 {
		return errors.New("plan graph: some steps never became ready") // NewGraph makes only earlier needs
	}
	return runErr
}
