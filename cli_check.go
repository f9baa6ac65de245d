package main

import (
	"github.com/spf13/cobra"

	"scalestore/checks"
	"scalestore/steps"
)

func newCheckCmd() *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "check [-f FILE]",
		Short: "Run the preflight checks against the hosts; change nothing",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ss, err := readOnlySession(cmd, file)
			if err != nil {
				return err
			}
			defer func() { ss.end(err) }()
			ir := newInterrupts(cmd.Context())
			defer ir.release()
			facts := steps.Discover(ir.ctx, ss.spec, ss.hosts, 0)
			if err := ir.err(); err != nil {
				return err
			}
			rs := checks.Preflight(ss.spec, facts)
			newPrinter(cmd.OutOrStdout(), asJSON, ss.log).checks(rs)
			return refusal(rs)
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
