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
			facts := steps.Discover(ir.ctx, s, ss.hosts, 0)
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
