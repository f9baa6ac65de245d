package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// exitRefused: preflight found a failure; nothing was changed.
const exitRefused = 3

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
	ss.pool = remote.NewPool(remote.Options{Prompter: p})
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

// termPrompter asks on the controlling terminal.
type termPrompter struct{ in *os.File }

func (tp termPrompter) Secret(ctx context.Context, host, prompt string) (string, error) {
	fmt.Fprintf(os.Stderr, "%s", prompt)
	b, err := term.ReadPassword(int(tp.in.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(b), err
}

func (tp termPrompter) ConfirmHostKey(ctx context.Context, host, address, keyType, fingerprint string) (bool, error) {
	fmt.Fprintf(os.Stderr, "The %s host key of %s (%s) is not known.\n  %s\nTrust it and add it to known_hosts? [y/N] ", keyType, host, address, fingerprint)
	return readYes(tp.in), nil
}

func readYes(in io.Reader) bool {
	var b [64]byte
	n, _ := in.Read(b[:])
	ans := strings.ToLower(strings.TrimSpace(string(b[:n])))
	return ans == "y" || ans == "yes"
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
		Args: cobra.NoArgs,
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

// signals: the first SIGINT/SIGTERM closes stop (finish running commands,
// start no new one); the second cancels ctx (stop the commands too).
func signals(parent context.Context) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(parent)
	stop := make(chan struct{})
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for {
			select {
			case <-ch:
				n++
				if n == 1 {
					fmt.Fprintln(os.Stderr, "\nscalestore: stopping after the running commands (Ctrl-C again to stop them now)")
					close(stop)
				} else {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, stop, func() { signal.Stop(ch); cancel() }
}

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
	ctx, stop, release := signals(cmd.Context())
	defer release()

	logf, logPath, err := openRunLog(s.Cluster.Name)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "scalestore: no run log: %v\n", err)
	}
	if logf != nil {
		defer logf.Close()
	}
	pr := newPrinter(out, o.json, logf)

	pr.note("discovering %d hosts", len(s.StorageHosts())+len(s.Clients))
	t0 := time.Now()
	facts := steps.Discover(ctx, s, ss.hosts(), 0)
	tDiscover := time.Since(t0)
	rs := checks.Preflight(s, facts)
	pr.checks(rs)
	if err := refusal(rs); err != nil {
		return err
	}
	plan := steps.Build(s, facts)
	if interactive && !o.dryRun {
		fmt.Fprintf(os.Stderr, "Apply the plan to %d hosts? (scalestore plan -f %s shows every command) [y/N] ", len(ss.targets), o.file)
		if !readYes(os.Stdin) {
			return errors.New("not confirmed; nothing was changed")
		}
	}
	eng := &steps.Engine{Hosts: ss.hosts(), Emit: pr.event, DryRun: o.dryRun, Stop: stop}
	t1 := time.Now()
	sum, err := eng.Run(ctx, plan)
	tRun := time.Since(t1)
	if logPath != "" && !o.json {
		fmt.Fprintf(out, "run log: %s\n", logPath)
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

// openRunLog creates the run's log file under the XDG state directory.
func openRunLog(cluster string) (*os.File, string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, "", err
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "scalestore", "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	p := filepath.Join(dir, cluster+"-"+time.Now().Format("20060102-150405")+".jsonl")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", err
	}
	return f, p, nil
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

// readOnlySession loads the spec and opens SSH for check and status: no
// questions asked, nothing changed on the hosts.
func readOnlySession(file string) (*config.Spec, *session, error) {
	s, err := loadSpec(file)
	if err != nil {
		return nil, nil, err
	}
	ss, err := newSession(s, true, nil)
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ss, err := readOnlySession(file)
			if err != nil {
				return err
			}
			defer ss.close()
			facts := steps.Discover(cmd.Context(), s, ss.hosts(), 0)
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
		Short: "Show each layer's health on every host; exit 1 when anything is degraded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ss, err := readOnlySession(file)
			if err != nil {
				return err
			}
			defer ss.close()
			rs := checks.Health(s, steps.ReadState(cmd.Context(), s, ss.hosts()))
			newPrinter(cmd.OutOrStdout(), asJSON, nil).checksTitled("status of cluster "+s.Cluster.Name+":", rs)
			for _, r := range rs {
				if r.Status != checks.Pass {
					return errors.New("the cluster is degraded")
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "cluster spec (TOML)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON lines")
	return c
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
