package main

import (
	"context"

	"github.com/spf13/cobra"

	"scalestore/checks"
	"scalestore/steps"
)

func newCheckCmd() *cobra.Command {
	return readOnlyCmd("check [-f FILE]", "Run the preflight checks against the hosts; change nothing",
		func(ctx context.Context, ss *session) (string, []checks.Result) {
			return "preflight:", checks.Preflight(ss.spec, steps.Discover(ctx, ss.spec, ss.hosts, 0))
		}, refusal)
}

// readOnlyCmd is a command that reads the hosts and changes nothing (check,
// status): it opens a read-only session, reads with Ctrl-C honoured, prints
// the results under their title and exits as verdict says.
func readOnlyCmd(use, short string, read func(ctx context.Context, ss *session) (string, []checks.Result), verdict func([]checks.Result) error) *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ss, err := readOnlySession(cmd, file)
			if err != nil {
				return err
			}
			defer func() { ss.end(err) }()
			ir := newInterrupts(cmd.Context())
			defer ir.release()
			title, rs := read(ir.ctx, ss)
			if err := ir.err(); err != nil {
				return err
			}
			newPrinter(cmd.OutOrStdout(), asJSON, ss.log).checksTitled(title, rs)
			return verdict(rs)
		},
	}
	specFlag(c, &file)
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON lines")
	return c
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
