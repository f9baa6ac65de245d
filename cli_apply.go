package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// refused marks a preflight refusal (exit 3).
type refused struct{ n int }

func (r refused) Error() string {
	return fmt.Sprintf("preflight: %d check(s) failed; nothing was changed", r.n)
}

// refusal is a refused error when any preflight check failed.
func refusal(rs []checks.Result) error {
	n := 0
	for _, r := range rs {
		if r.Status == checks.Fail {
			n++
		}
	}
	if n > 0 {
		return refused{n}
	}
	return nil
}

// session is what apply, check, status and plan --live share: the spec,
// one SSH pool, and a host source for the engine.
type session struct {
	spec    *config.Spec
	pool    *remote.Pool
	targets map[string]remote.Target
}

func newSession(s *config.Spec, unattended bool, p remote.Prompter) (*session, error) {
	ss := &session{spec: s, targets: map[string]remote.Target{}}
	for i := range s.Hosts {
		t, err := steps.TargetFor(s, &s.Hosts[i], unattended)
		if err != nil {
			return nil, badInput{err}
		}
		ss.targets[s.Hosts[i].Name] = t
	}
	ss.pool = remote.NewPool(remote.Options{Prompter: p, OnNewHostKey: showNewHostKey})
	return ss, nil
}

func (ss *session) hosts() steps.HostSource {
	return func(ctx context.Context, name string) (remote.Host, error) {
		t, ok := ss.targets[name]
		if !ok {
			return nil, fmt.Errorf("host %q is not in the spec", name)
		}
		return ss.pool.Get(ctx, t)
	}
}

func (ss *session) close() { ss.pool.Close() }

// termPrompter asks on the controlling terminal. A question ends when its
// context does (Ctrl-C): the terminal's echo is restored.
type termPrompter struct{ in *os.File }

func (tp termPrompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	fmt.Fprintf(os.Stderr, "%s", prompt)
	fd := int(tp.in.Fd())
	saved, _ := term.GetState(fd)
	s, err := readCtx(ctx, func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	})
	if err != nil && saved != nil {
		term.Restore(fd, saved)
	}
	fmt.Fprintln(os.Stderr)
	return s, err
}

func (tp termPrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	fmt.Fprintf(os.Stderr, "The %s host key of %s (%s) is not known.\n  %s\nTrust it and add it to known_hosts? [y/N] ", keyType, host, address, fingerprint)
	return readYes(ctx, tp.in)
}

// readYes reads one answer line: true for y or yes. It returns ctx's error
// when ctx ends first.
func readYes(ctx context.Context, in io.Reader) (bool, error) {
	ans, err := readCtx(ctx, func() (string, error) {
		var b [64]byte
		n, err := in.Read(b[:])
		if n > 0 {
			err = nil
		}
		return string(b[:n]), err
	})
	ans = strings.ToLower(strings.TrimSpace(ans))
	return ans == "y" || ans == "yes", err
}

// readCtx runs a blocking read and returns early when ctx ends (the read
// is left behind: the process is about to end).
func readCtx(ctx context.Context, read func() (string, error)) (string, error) {
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := read()
		ch <- answer{s, err}
	}()
	select {
	case a := <-ch:
		return a.s, a.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

type applyOpts struct {
	file   string
	yes    bool
	json   bool
	dryRun bool
}

func newApplyCmd() *cobra.Command {
	var o applyOpts
	c := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Build (or grow, or resume) the cluster the spec describes",
		Long: `apply connects to every host, runs the preflight checks (a failure stops it before
anything changes), then runs the plan: each action only where its probe says it is not
done yet. A second apply on a finished cluster changes nothing; an interrupted one resumes.
Ctrl-C lets the running commands finish and stops; a second Ctrl-C stops them too.

Exit codes: 0 done, 1 failed, 2 bad input, 3 preflight refused.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, o)
		},
	}
	c.Flags().StringVarP(&o.file, "file", "f", "", "cluster spec (TOML)")
	c.Flags().BoolVarP(&o.yes, "yes", "y", false, "run unattended: no questions (new host keys are accepted only under host_key_policy = \"accept-new\")")
	c.Flags().BoolVar(&o.json, "json", false, "print the event stream as JSON lines")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "probe the hosts and show what would change, change nothing")
	return c
}

// interrupts: until the plan starts changing hosts, the first SIGINT or
// SIGTERM cancels everything at once (connecting, discovery, a question:
// nothing has changed). Once it runs (started), the first closes stop
// (finish the running commands, start no new one) and the second cancels
// the commands too.
type interrupts struct {
	ctx     context.Context
	cancel  context.CancelFunc
	stop    chan struct{}
	ch      chan os.Signal
	mu      sync.Mutex
	running bool
	n       int
}

func newInterrupts(parent context.Context) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	ir := &interrupts{ctx: ctx, cancel: cancel, stop: make(chan struct{}), ch: make(chan os.Signal, 2)}
	signal.Notify(ir.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case <-ir.ch:
			case <-ctx.Done():
				return
			}
			ir.mu.Lock()
			ir.n++
			n, running := ir.n, ir.running
			ir.mu.Unlock()
			if running && n == 1 {
				fmt.Fprintln(os.Stderr, "\nscalestore: stopping after the running commands (Ctrl-C again to stop them now)")
				close(ir.stop)
				continue
			}
			fmt.Fprintln(os.Stderr, "\nscalestore: interrupted")
			cancel()
			return
		}
	}()
	return ir
}

// started marks the start of the changes: the next signal stops gently.
func (ir *interrupts) started() {
	ir.mu.Lock()
	ir.running = true
	ir.mu.Unlock()
}

// err is the interrupted error when a signal arrived, else nil.
func (ir *interrupts) err() error {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	if ir.n == 0 {
		return nil
	}
	return interrupted{changed: ir.running}
}

func (ir *interrupts) release() { signal.Stop(ir.ch); ir.cancel() }

func runApply(cmd *cobra.Command, o applyOpts) error {
	s, err := loadSpec(o.file)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	interactive := !o.yes && isTerminal(os.Stdin)
	if !o.yes && !interactive && !o.dryRun {
		return badInput{errors.New("no terminal to confirm on: pass --yes to apply unattended (or --dry-run)")}
	}
	var prompter remote.Prompter
	if interactive {
		prompter = termPrompter{in: os.Stdin}
	}
	ss, err := newSession(s, o.yes, prompter)
	if err != nil {
		return err
	}
	defer ss.close()
	ir := newInterrupts(cmd.Context())
	defer ir.release()
	ctx := ir.ctx

	logf, logPath, err := steps.OpenRunLog(s.Cluster.Name)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "scalestore: no run log: %v\n", err)
	}
	if logf != nil {
		defer logf.Close()
	}
	if logPath != "" && !o.json {
		// printed at the end of every run, a failed or refused one too
		defer fmt.Fprintf(out, "run log: %s\n", logPath)
	}
	pr := newPrinter(out, o.json, logf)

	if !o.dryRun {
		// here and on the hosts, before reading them: what preflight reads
		// stays so until the run ends
		names := append(s.StorageHosts(), s.ClientHosts()...)
		unlock, err := steps.LockRun(ctx, s.Cluster.Name, names, ss.hosts(), "apply -f "+o.file)
		if ierr := ir.err(); ierr != nil {
			return ierr
		}
		if err != nil {
			return fmt.Errorf("%w; nothing was changed", err)
		}
		defer unlock()
		pr.note("cluster %s locked on its %d hosts for this run", s.Cluster.Name, len(names))
	}
	pr.note("discovering %d hosts", len(s.StorageHosts())+len(s.Clients))
	t0 := time.Now()
	facts := steps.Discover(ctx, s, ss.hosts(), 0)
	tDiscover := time.Since(t0)
	if err := ir.err(); err != nil {
		return err // not a preflight refusal: the checks did not run
	}
	rs := checks.Preflight(s, facts)
	pr.checks(rs)
	if err := refusal(rs); err != nil {
		return err
	}
	plan := steps.Build(s, facts)
	if interactive && !o.dryRun {
		fmt.Fprintf(os.Stderr, "Apply the plan to %d hosts? (scalestore plan -f %s shows every command) [y/N] ", len(ss.targets), o.file)
		yes, err := readYes(ctx, os.Stdin)
		if ierr := ir.err(); ierr != nil {
			return ierr
		}
		if err != nil {
			return fmt.Errorf("read the answer: %w; nothing was changed", err)
		}
		if !yes {
			return errors.New("not confirmed; nothing was changed")
		}
	}
	if err := ir.err(); err != nil {
		return err
	}
	ir.started()
	eng := &steps.Engine{Hosts: ss.hosts(), Emit: pr.event, DryRun: o.dryRun, Stop: ir.stop}
	t1 := time.Now()
	sum, err := eng.Run(ctx, plan)
	tRun := time.Since(t1)
	if ierr := ir.err(); ierr != nil {
		return ierr
	}
	if err != nil {
		return err
	}
	if o.dryRun {
		if !o.json {
			fmt.Fprintf(out, "dry run: %d action(s) would change, %d already done\n", sum.WouldChange, sum.Unchanged)
		}
		return nil
	}
	// Postflight: every layer healthy on every host, and data written on
	// one client reads back the same on the others.
	t2 := time.Now()
	post, _ := checks.Postflight(ctx, s, ss.hosts())
	pr.checksTitled("postflight:", post)
	if !o.json {
		fmt.Fprintf(out, "took %s: connect and discover %s, run %s, postflight %s\n", round(time.Since(t0)), round(tDiscover), round(tRun), round(time.Since(t2)))
	}
	if checks.Failed(post) {
		return errors.New("postflight: the cluster is not healthy (see above)")
	}
	return nil
}

// printer writes events as plain lines (or JSON lines) and every event as
// JSON to the run log.
type printer struct {
	w    io.Writer
	json bool
	log  io.Writer
	enc  *json.Encoder
	lenc *json.Encoder
}

func newPrinter(w io.Writer, asJSON bool, log io.Writer) *printer {
	p := &printer{w: w, json: asJSON, log: log, enc: json.NewEncoder(w)}
	if log != nil {
		p.lenc = json.NewEncoder(log)
	}
	return p
}

func (p *printer) note(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (p *printer) checks(rs []checks.Result) { p.checksTitled("preflight:", rs) }

func (p *printer) checksTitled(title string, rs []checks.Result) {
	if p.lenc != nil {
		for _, r := range rs {
			p.lenc.Encode(struct {
				Kind string `json:"kind"`
				checks.Result
			}{"check", r})
		}
	}
	if p.json {
		for _, r := range rs {
			p.enc.Encode(struct {
				Kind string `json:"kind"`
				checks.Result
			}{"check", r})
		}
		return
	}
	fmt.Fprintln(p.w, title)
	checks.Print(p.w, rs)
}

func (p *printer) event(e steps.Event) {
	if p.lenc != nil {
		p.lenc.Encode(e)
	}
	if p.json {
		p.enc.Encode(e)
		return
	}
	ts := e.Time.Format("15:04:05")
	host := e.Host
	if host == "" {
		host = "-"
	}
	switch e.Kind {
	case steps.RunStarted:
		fmt.Fprintf(p.w, "%s apply %s\n", ts, e.Title)
	case steps.Warning:
		fmt.Fprintf(p.w, "%s WARNING %s\n", ts, e.Text)
	case steps.StepStarted:
		fmt.Fprintf(p.w, "%s == %s\n", ts, e.Title)
	case steps.ActionDone:
		if e.Outcome == steps.Changed || e.Outcome == steps.WouldChange {
			fmt.Fprintf(p.w, "%s [%s] %s: %s\n", ts, host, e.Outcome, e.Action)
		}
	case steps.LogLine:
		fmt.Fprintf(p.w, "%s [%s] | %s\n", ts, host, e.Text)
	case steps.ProgressMsg:
		pg := e.Progress
		fmt.Fprintf(p.w, "%s [%s] %s %s %.1f%% %s eta %s\n", ts, host, pg.Resource, pg.State, pg.Percent, speed(pg.SpeedKiBps), pg.ETA)
	case steps.Failed:
		fmt.Fprintf(p.w, "%s [%s] FAILED %s: %s\n", ts, host, e.Action, e.Error)
		if e.Cmd != "" {
			fmt.Fprintf(p.w, "         command: %s\n         exit status %d\n", e.Cmd, e.Code)
		}
		for _, l := range strings.Split(strings.TrimSpace(e.Stderr), "\n") {
			if l != "" {
				fmt.Fprintf(p.w, "         stderr: %s\n", l)
			}
		}
	case steps.StepDone:
		fmt.Fprintf(p.w, "%s    %d changed, %d unchanged (%s)\n", ts, e.Changed, e.Unchanged, e.Elapsed.Round(10*time.Millisecond))
	case steps.RunDone:
		status := "done"
		if e.Error != "" {
			status = "stopped: " + e.Error
		}
		fmt.Fprintf(p.w, "%s %s: %d changed, %d unchanged in %s\n", ts, status, e.Changed, e.Unchanged, e.Elapsed.Round(100*time.Millisecond))
	}
}

func speed(kib int64) string {
	if kib <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f MiB/s", float64(kib)/1024)
}

// showNewHostKey says on stderr which host key was added to known_hosts
// (under host_key_policy "accept-new"), so no key is trusted unseen.
func showNewHostKey(host, address, keyType, fingerprint string) {
	fmt.Fprintf(os.Stderr, "scalestore: added the %s host key of %s (%s) to known_hosts: %s\n", keyType, host, address, fingerprint)
}

// readOnlySession loads the spec and opens SSH for check and status:
// nothing changed on the hosts. On a terminal, an unknown host key (under
// "accept-new") is shown and confirmed; without one it is accepted and
// shown.
func readOnlySession(file string) (*config.Spec, *session, error) {
	s, err := loadSpec(file)
	if err != nil {
		return nil, nil, err
	}
	var p remote.Prompter
	interactive := isTerminal(os.Stdin)
	if interactive {
		p = termPrompter{in: os.Stdin}
	}
	ss, err := newSession(s, !interactive, p)
	if err != nil {
		return nil, nil, err
	}
	return s, ss, nil
}

func newCheckCmd() *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check -f FILE",
		Short: "Run the preflight checks against the hosts; change nothing",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ss, err := readOnlySession(file)
			if err != nil {
				return err
			}
			defer ss.close()
			ir := newInterrupts(cmd.Context())
			defer ir.release()
			facts := steps.Discover(ir.ctx, s, ss.hosts(), 0)
			if err := ir.err(); err != nil {
				return err
			}
			rs := checks.Preflight(s, facts)
			newPrinter(cmd.OutOrStdout(), asJSON, nil).checks(rs)
			return refusal(rs)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "cluster spec (TOML)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON lines")
	return c
}

func newStatusCmd() *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status -f FILE",
		Short: "Show each layer's health on every host; exit 1 when anything is degraded, 4 when a host could not be read",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ss, err := readOnlySession(file)
			if err != nil {
				return err
			}
			defer ss.close()
			ir := newInterrupts(cmd.Context())
			defer ir.release()
			state := steps.ReadState(ir.ctx, s, ss.hosts())
			if err := ir.err(); err != nil {
				return err
			}
			rs := checks.Health(s, state)
			newPrinter(cmd.OutOrStdout(), asJSON, nil).checksTitled("status of cluster "+s.Cluster.Name+":", rs)
			return healthVerdict(rs)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "cluster spec (TOML)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON lines")
	return c
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// unknownState: status could not read every host, and what it read is
// healthy (exit 4): the cluster may be healthy or not.
type unknownState struct{ hosts []string }

func (u unknownState) Error() string {
	return fmt.Sprintf("the state of %s is unknown (could not be read); what could be read is healthy", strings.Join(u.hosts, ", "))
}

// healthVerdict: degraded (exit 1) when any layer that was read is not
// healthy, unknown (exit 4) when a host could not be read, else healthy.
func healthVerdict(rs []checks.Result) error {
	var unknown []string
	for _, r := range rs {
		switch r.Status {
		case checks.Fail, checks.Warn:
			return errors.New("the cluster is degraded")
		case checks.Unknown:
			unknown = append(unknown, r.Host)
		}
	}
	if len(unknown) > 0 {
		return unknownState{unknown}
	}
	return nil
}
