package main

import (
	"errors"

	"github.com/spf13/cobra"

	"scalestore/checks"
	"scalestore/steps"
)

func newStatusCmd() *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [-f FILE]",
		Short: "Show each layer's health on every host; exit 1 when anything is degraded, 4 when a host could not be read",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ss, err := readOnlySession(cmd, file)
			if err != nil {
				return err
			}
			defer func() { ss.end(err) }()
			ir := newInterrupts(cmd.Context())
			defer ir.release()
			state := steps.ReadState(ir.ctx, ss.spec, ss.hosts)
			if err := ir.err(); err != nil {
				return err
			}
			rs := checks.Health(ss.spec, state)
			newPrinter(cmd.OutOrStdout(), asJSON, ss.log).checksTitled("status of cluster "+ss.spec.Cluster.Name+":", rs)
			return healthVerdict(rs)
		},
	}
	specFlag(c, &file)
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON lines")
	return c
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
