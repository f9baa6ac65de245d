package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"scalestore/checks"
	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

type applyOpts struct {
	file   string
	yes    bool
	json   bool
	dryRun bool
	sched  scheduleOpts // --schedule, --concurrency
}

func newApplyCmd() *cobra.Command { return applyCommand(&applyOpts{}) }

// applyCommand is apply with its flags parsed into o.
func applyCommand(o *applyOpts) *cobra.Command {
	c := &cobra.Command{
		Use:   "apply [-f FILE]",
		Short: "Build (or grow, or resume) the cluster the spec describes",
		Long: `apply connects to every host, runs the preflight checks (a failure stops it before
anything changes), then runs the plan: each action only where its probe says it is not
done yet. A second apply on a finished cluster changes nothing; an interrupted one resumes.
Ctrl-C lets the running commands finish and stops; a second Ctrl-C stops them too.

Exit codes: 0 done, 1 failed, 2 bad input, 3 preflight refused.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, *o)
		},
	}
	specFlag(c, &o.file)
	c.Flags().BoolVarP(&o.yes, "yes", "y", false, "run unattended: no questions (new host keys are accepted only under host_key_policy = \"accept-new\")")
	c.Flags().BoolVar(&o.json, "json", false, "print the event stream as JSON lines")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "probe the hosts and show what would change, change nothing")
	o.sched.register(c.Flags())
	return c
}

// engine is the engine apply runs the plan with.
func (o applyOpts) engine(hosts steps.HostSource, emit func(steps.Event), stop <-chan struct{}) *steps.Engine {
	e := &steps.Engine{Hosts: hosts, Emit: emit, DryRun: o.dryRun, Stop: stop}
	o.sched.apply(e)
	return e
}

func runApply(cmd *cobra.Command, o applyOpts) (err error) {
	if err := o.sched.check(); err != nil {
		return err
	}
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
	ss, err := openSession(cmd, s, o.yes, prompter)
	if err != nil {
		return err
	}
	// the run log is named at the end of every run, a failed or refused one too
	defer func() { ss.end(err) }()
	ir := newInterrupts(cmd.Context())
	defer ir.release()
	ctx := ir.ctx
	pr := newPrinter(out, o.json, ss.log)

	if !o.dryRun {
		// here and on the hosts, before reading them: what preflight reads
		// stays so until the run ends
		names := append(s.StorageHosts(), s.ClientHosts()...)
		unlock, err := steps.LockRun(ctx, s.Cluster.Name, names, ss.hosts, "apply -f "+s.Path)
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
	// fence checks that passed lately are not run again (steps.FenceFresh)
	memo := loadFenceMemo(s, ss.logger)
	facts := steps.DiscoverMemo(ctx, s, ss.hosts, 0, memo)
	saveFenceMemo(s, memo, ss.logger)
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
		fmt.Fprintf(os.Stderr, "Apply the plan to %d hosts? (scalestore plan -f %s shows every command) [y/N] ", len(s.Hosts), s.Path)
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
	eng := o.engine(ss.hosts, pr.event, ir.stop)
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
	// the spec as applied, for the next run's "changed since" (the wizard's too)
	if path, err := config.SaveApplied(s, time.Now()); err != nil {
		pr.note("not recorded as the last applied spec: %v", err)
	} else {
		ss.logger.Info("applied spec recorded", "path", path)
	}
	// Postflight: every layer healthy on every host, and data written on
	// one client reads back the same on the others.
	t2 := time.Now()
	post, _ := checks.Postflight(ctx, s, ss.hosts, memo)
	saveFenceMemo(s, memo, ss.logger)
	pr.checksTitled("postflight:", post)
	if !o.json {
		fmt.Fprintf(out, "took %s: connect and discover %s, run %s, postflight %s\n", round(time.Since(t0)), round(tDiscover), round(tRun), round(time.Since(t2)))
	}
	if checks.Failed(post) {
		return errors.New("postflight: the cluster is not healthy (see above)")
	}
	return nil
}

// loadFenceMemo reads the fence checks this machine saw pass for the
// cluster; a file it cannot read is no memo (every check runs).
func loadFenceMemo(s *config.Spec, log *slog.Logger) *steps.FenceMemo {
	checked, err := config.LoadFenceChecks(s.Cluster.Name)
	if err != nil {
		log.Warn("fence checks not read: every check runs", "err", err)
		checked = nil
	}
	return &steps.FenceMemo{Checked: checked}
}

func saveFenceMemo(s *config.Spec, m *steps.FenceMemo, log *slog.Logger) {
	if err := config.SaveFenceChecks(s.Cluster.Name, m.Snapshot()); err != nil {
		log.Warn("fence checks not saved", "err", err)
	}
}
