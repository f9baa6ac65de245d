package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"scalestore/remote"
)

// HostSource gives the engine a connected host by name.
type HostSource func(ctx context.Context, name string) (remote.Host, error)

// Engine runs a plan on the hosts: steps in order, the hosts of a step in
// parallel, each action only when its probe says it is to do.
type Engine struct {
	Hosts HostSource
	// Emit receives every event; calls are serialised.
	Emit func(Event)
	// DryRun runs the probes only and reports what would change.
	DryRun bool
	// Parallel caps the hosts working at once in a step (0: no cap).
	Parallel int
	// Stop, when closed, lets the running actions finish and starts no new
	// one: the run ends with ErrStopped, and the next apply resumes.
	Stop <-chan struct{}
	// Poll is the interval of Wait actions (default 1s).
	Poll time.Duration
	// NoPrefetch turns off the batched probes (one command per host that
	// answers every probe of the plan before the first step).
	NoPrefetch bool
	// Graph runs the plan as its graph (schedule.go): each step on each
	// host as soon as what it needs is done, not step after step.
	Graph bool
	// Concurrency caps the nodes (a step on one host) running at once in
	// a Graph run (0: Parallel; 0 there too: no cap).
	Concurrency int

	mu       sync.Mutex
	prefetch map[string]bool // "step/action" → its probe held before the run
	changed  atomic.Bool     // something changed: prefetched answers are stale
}

// ErrStopped is returned when Stop ended the run early.
var ErrStopped = errors.New("stopped before the end; run apply again to resume")

// Summary counts the outcomes of a run.
type Summary struct {
	Changed, Unchanged, WouldChange int
	Elapsed                         time.Duration
	StepTimes                       []StepTime
}

// StepTime is one step's wall time.
type StepTime struct {
	ID, Title string
	Elapsed   time.Duration
	Changed   int
}

// StepError is the failure of one action, with what the operator needs.
type StepError struct {
	Step, Host, Action string
	Err                error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s on %s: %s: %v", e.Step, e.Host, e.Action, e.Err)
}
func (e *StepError) Unwrap() error { return e.Err }

func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Emit != nil {
		e.Emit(ev)
	}
}

func (e *Engine) stopped() bool {
	if e.Stop == nil {
		return false
	}
	select {
	case <-e.Stop:
		return true
	default:
		return false
	}
}

// Run executes the plan. It returns the first failure (a *StepError), or
// ErrStopped, or ctx's error.
func (e *Engine) Run(ctx context.Context, p *Plan) (Summary, error) {
	start := time.Now()
	var sum Summary
	e.emit(e.started(p))
	for _, w := range p.Warnings {
		e.emit(Event{Kind: Warning, Text: w})
	}
	if !e.NoPrefetch {
		e.prefetch = e.prefetchProbes(ctx, p)
	}
	var runErr error
	sequence := p.Steps
	if e.Graph {
		runErr, sequence = e.runGraph(ctx, p, &sum), nil
	}
	for si, st := range sequence {
		if e.stopped() {
			runErr = ErrStopped
			break
		}
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		stStart := time.Now()
		e.emit(Event{Kind: StepStarted, Step: st.ID, Title: st.Title})
		counts, err := e.runStep(ctx, si, st)
		sum.Changed += counts.changed
		sum.Unchanged += counts.unchanged
		sum.WouldChange += counts.would
		el := time.Since(stStart)
		sum.StepTimes = append(sum.StepTimes, StepTime{ID: st.ID, Title: st.Title, Elapsed: el, Changed: counts.changed + counts.would})
		e.emit(Event{Kind: StepDone, Step: st.ID, Title: st.Title, Changed: counts.changed + counts.would, Unchanged: counts.unchanged, Elapsed: el})
		if err != nil {
			runErr = err
			break
		}
	}
	sum.Elapsed = time.Since(start)
	done := Event{Kind: RunDone, Changed: sum.Changed + sum.WouldChange, Unchanged: sum.Unchanged, Elapsed: sum.Elapsed}
	if runErr != nil {
		done.Error = runErr.Error()
	}
	e.emit(done)
	return sum, runErr
}

type counts struct{ changed, unchanged, would int }

// indexed is an action with its place in the plan.
type indexed struct {
	Action
	key string // "step/action"
}

func (e *Engine) runStep(ctx context.Context, si int, st Step) (counts, error) {
	byHost := map[string][]indexed{}
	for ai, a := range st.Actions {
		byHost[a.Host] = append(byHost[a.Host], indexed{a, fmt.Sprintf("%d/%d", si, ai)})
	}
	hosts := st.Hosts()
	var (
		mu    sync.Mutex
		total counts
		errs  []error
		wg    sync.WaitGroup
	)
	limit := e.Parallel
	if limit <= 0 {
		limit = len(hosts)
	}
	sem := make(chan struct{}, limit)
	for _, h := range hosts {
		wg.Add(1)
		go func(h string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := e.runHost(ctx, st, h, byHost[h])
			mu.Lock()
			defer mu.Unlock()
			total.changed += c.changed
			total.unchanged += c.unchanged
			total.would += c.would
			if err != nil {
				errs = append(errs, err)
			}
		}(h)
	}
	wg.Wait()
	if len(errs) > 0 {
		return total, errs[0]
	}
	return total, nil
}

func (e *Engine) runHost(ctx context.Context, st Step, name string, actions []indexed) (counts, error) {
	var c counts
	h, err := e.Hosts(ctx, name)
	if err != nil {
		err = &StepError{Step: st.ID, Host: name, Action: "connect", Err: err}
		e.emit(Event{Kind: Failed, Step: st.ID, Host: name, Action: "connect", Error: err.Error()})
		return c, err
	}
	for _, ia := range actions {
		a := ia.Action
		if e.stopped() {
			return c, ErrStopped
		}
		var out Outcome
		var err error
		if e.alreadySo(ia.key) {
			out = Unchanged
			if a.Kind == Wait {
				out = Waited
			}
		} else {
			out, err = e.do(ctx, st, h, a)
		}
		if out == Changed {
			e.changed.Store(true)
		}
		if err != nil {
			ev := Event{Kind: Failed, Step: st.ID, Host: name, Action: a.Desc, Error: err.Error()}
			var xe *remote.ExitError
			if errors.As(err, &xe) {
				ev.Cmd, ev.Code, ev.Stderr = xe.Cmd, xe.Code, xe.StderrTail
			}
			e.emit(ev)
			return c, &StepError{Step: st.ID, Host: name, Action: a.Desc, Err: err}
		}
		switch out {
		case Changed:
			c.changed++
		case WouldChange:
			c.would++
		default:
			c.unchanged++
		}
		e.emit(Event{Kind: ActionDone, Step: st.ID, Host: name, Action: a.Desc, Outcome: out})
	}
	return c, nil
}

// Bounds of the commands the engine runs: a probe answers in seconds, an
// action may install packages from a slow mirror. A command past its bound
// is killed and fails its action (remote.RunOptions.Timeout).
const (
	probeTimeout  = ReadTimeout
	actionTimeout = 30 * time.Minute
)

// ReadTimeout bounds a read-only command: a probe, discovery, the state
// status reads, the postflight's data check.
const ReadTimeout = 2 * time.Minute

// actionBound bounds an action's own commands: its Timeout when it has one
// (a Wait's Timeout bounds the whole wait, its polls are probes).
func actionBound(a Action) time.Duration {
	if a.Timeout > 0 && a.Kind != Wait {
		return a.Timeout
	}
	return actionTimeout
}

// probe runs a read-only check: true when it exits 0, false on another
// exit status, an error when the command could not run at all.
func (e *Engine) probe(ctx context.Context, h remote.Host, c remote.Cmd) (bool, error) {
	_, err := h.Run(ctx, c, remote.RunOptions{Timeout: probeTimeout})
	if err == nil {
		return true, nil
	}
	var xe *remote.ExitError
	if errors.As(err, &xe) {
		return false, nil
	}
	return false, err
}

func (e *Engine) stream(st Step, host, action string) func(remote.Line) {
	return func(l remote.Line) {
		stream := "stdout"
		if l.Stream == remote.Stderr {
			stream = "stderr"
		}
		e.emit(Event{Kind: LogLine, Step: st.ID, Host: host, Action: action, Stream: stream, Text: l.Text})
	}
}

func (e *Engine) do(ctx context.Context, st Step, h remote.Host, a Action) (Outcome, error) {
	switch a.Kind {
	case Run:
		if a.Unless != nil {
			done, err := e.probe(ctx, h, *a.Unless)
			if err != nil {
				return "", fmt.Errorf("probe: %w", err)
			}
			if done {
				return Unchanged, nil
			}
		}
		if e.DryRun {
			return WouldChange, nil
		}
		if _, err := h.Run(ctx, a.Cmd, remote.RunOptions{OnLine: e.stream(st, h.Name(), a.Desc), Timeout: actionBound(a)}); err != nil {
			return "", err
		}
		return Changed, nil
	case WriteFile:
		return e.writeFile(ctx, st, h, a, []byte(a.Content))
	case CopySecret:
		src, err := e.Hosts(ctx, a.From)
		if err != nil {
			return "", fmt.Errorf("connect to %s: %w", a.From, err)
		}
		data, err := src.ReadFile(ctx, a.Path)
		if err != nil {
			if e.DryRun && errors.Is(err, fs.ErrNotExist) {
				return WouldChange, nil // made by an earlier action of this run
			}
			return "", fmt.Errorf("read %s on %s: %w", a.Path, a.From, err)
		}
		return e.writeFile(ctx, st, h, a, data)
	case Wait:
		return e.wait(ctx, st, h, a)
	}
	return "", fmt.Errorf("unknown action kind %d", a.Kind)
}

func (e *Engine) writeFile(ctx context.Context, st Step, h remote.Host, a Action, data []byte) (Outcome, error) {
	if e.DryRun {
		old, err := h.ReadFile(ctx, a.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", a.Path, err)
		}
		if err == nil && bytes.Equal(old, data) {
			return Unchanged, nil
		}
		return WouldChange, nil
	}
	changed, err := h.WriteFile(ctx, a.Path, data, a.Mode, "root:root")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", a.Path, err)
	}
	if !changed {
		return Unchanged, nil
	}
	if a.OnChange != nil {
		if _, err := h.Run(ctx, *a.OnChange, remote.RunOptions{OnLine: e.stream(st, h.Name(), a.Desc), Timeout: actionBound(a)}); err != nil {
			return "", fmt.Errorf("after writing %s: %w", a.Path, err)
		}
	}
	return Changed, nil
}

func (e *Engine) wait(ctx context.Context, st Step, h remote.Host, a Action) (Outcome, error) {
	poll := e.Poll
	if poll == 0 {
		poll = time.Second
	}
	deadline := time.Now().Add(a.Timeout)
	for {
		ok, err := e.probe(ctx, h, a.Cmd)
		if err != nil {
			return "", fmt.Errorf("wait: %w", err)
		}
		if ok {
			return Waited, nil
		}
		if e.DryRun {
			return WouldChange, nil
		}
		if a.Progress == "drbd-sync" {
			e.drbdProgress(ctx, st, h, a)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("gave up after %s waiting for: %s", a.Timeout, a.Cmd)
		}
		if e.stopped() {
			return "", ErrStopped
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll):
		}
	}
}

// drbdProgress reads /proc/drbd and emits the resync state of the minors
// this wait is about.
func (e *Engine) drbdProgress(ctx context.Context, st Step, h remote.Host, a Action) {
	res, err := h.Run(ctx, remote.Argv("cat", "/proc/drbd"), remote.RunOptions{Timeout: probeTimeout})
	if err != nil {
		return
	}
	for _, d := range ParseProcDRBD(string(res.Stdout)) {
		name := fmt.Sprintf("r%d", d.Minor)
		if name != a.Resource {
			continue
		}
		pct := d.SyncedPct
		if !d.HasSync && d.DiskState == "UpToDate" && d.PeerDisk == "UpToDate" {
			pct = 100
		}
		e.emit(Event{Kind: ProgressMsg, Step: st.ID, Host: h.Name(), Action: a.Desc, Progress: &Progress{
			Resource: name, Percent: pct, SpeedKiBps: d.SpeedKiBps, ETA: d.Finish, State: d.CState, Disks: d.DiskState + "/" + d.PeerDisk}})
	}
}

// alreadySo reports a probe answered by the prefetch, while nothing has
// changed since it ran.
func (e *Engine) alreadySo(key string) bool {
	return e.prefetch != nil && !e.changed.Load() && e.prefetch[key]
}

// probeOf is the read-only check that says an action is already so, or nil.
func probeOf(a Action) *remote.Cmd {
	switch a.Kind {
	case Run:
		return a.Unless
	case Wait:
		c := a.Cmd
		return &c
	case WriteFile:
		sum := sha256.Sum256([]byte(a.Content))
		c := remote.Script(`test "$(sha256sum < %s 2>/dev/null)" = %s && test "$(stat -c %%a %s)" = %s`,
			a.Path, hex.EncodeToString(sum[:])+"  -", a.Path, strconv.FormatUint(uint64(a.Mode.Perm()), 8))
		return &c
	}
	return nil
}

// prefetchProbes answers every probe of the plan with one command per host,
// before anything runs: on a cluster that is already built, that is all
// apply needs. Each probe runs in a subshell of its own; a host that cannot
// be reached is left out (its steps then probe one by one, and fail there).
func (e *Engine) prefetchProbes(ctx context.Context, p *Plan) map[string]bool {
	scripts := map[string]string{}
	var hosts []string
	for _, host := range p.Hosts() {
		hosts = append(hosts, host)
		scripts[host] = PrefetchScript(p, host).String()
	}
	res := remote.FanOut(ctx, hosts, e.Parallel, func(ctx context.Context, name string) ([]string, error) {
		h, err := e.Hosts(ctx, name)
		if err != nil {
			return nil, err
		}
		out, err := h.Run(ctx, remote.Cmd{Script: scripts[name]}, remote.RunOptions{Timeout: probeTimeout})
		if err != nil {
			return nil, err
		}
		var oks []string
		for _, l := range strings.Split(string(out.Stdout), "\n") {
			if ks, ok := strings.CutPrefix(l, "ok "); ok {
				oks = append(oks, strings.Fields(ks)...)
			}
		}
		return oks, nil
	})
	m := map[string]bool{}
	for _, o := range res {
		for _, k := range o.Value {
			m[k] = true
		}
	}
	return m
}

// PrefetchScript is the one command that answers every probe of the plan
// on a host: each distinct probe runs once, in the script's own shell (a
// subshell per probe costs a fork, much on a slow host), and prints the
// "step/action" keys it answers for when it holds. The shared probes' queries
// run once each (see shared), and one query reads every file the host's
// plan writes. Probes are read-only command lists that neither exit nor
// change directory.
func PrefetchScript(p *Plan, host string) remote.Cmd {
	var order, files []string
	keys := map[string][]string{}
	tests := map[string]string{} // probe text → its batched form
	for si, st := range p.Steps {
		for ai, a := range st.Actions {
			if a.Host != host {
				continue
			}
			pr := probeOf(a)
			if pr == nil {
				continue
			}
			text := pr.String()
			if _, ok := keys[text]; !ok {
				order = append(order, text)
				if a.Kind == WriteFile {
					files = append(files, a.Path)
					tests[text] = fileTest(a.Path, a.Content, a.Mode)
				}
			}
			keys[text] = append(keys[text], fmt.Sprintf("%d/%d", si, ai))
		}
	}
	pb := &prefetchBuilder{queries: map[string]string{}}
	for _, text := range order {
		batched := text
		if t, ok := tests[text]; ok {
			batched = shared(fileState(files), t).String()
		}
		pb.probe(batched, keys[text])
	}
	pb.b.WriteString("true")
	return remote.Cmd{Script: pb.b.String()}
}
