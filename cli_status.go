package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"scalestore/checks"
	"scalestore/steps"
)

func newStatusCmd() *cobra.Command {
	return readOnlyCmd("status [-f FILE]", "Show each layer's health on every host; exit 1 when anything is degraded, 4 when a host could not be read",
		func(ctx context.Context, ss *session) (string, []checks.Result) {
			return "status of cluster " + ss.spec.Cluster.Name + ":", checks.Health(ss.spec, steps.ReadState(ctx, ss.spec, ss.hosts))
		}, healthVerdict)
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
