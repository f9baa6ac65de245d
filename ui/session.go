package ui

import (
	"context"
	"log/slog"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// connectFunc opens the SSH side for a spec: a host source for discovery,
// the engine and the checks, and a function that closes it. Tests replace
// it with scripted hosts.
type connectFunc func(s *config.Spec, p remote.Prompter) (steps.HostSource, func())

// discoverFunc reads every host of a spec for preflight: steps.Discover,
// which measures each host's clock against this machine's now (tests pin
// the skew, so that the screens showing it do not change with the day).
type discoverFunc func(ctx context.Context, s *config.Spec, src steps.HostSource, parallel int) *steps.Facts

// connectSSH is the real connectFunc: steps.Connect, asking the wizard's
// Prompter for passwords and new host keys, the SSH layer's debug records
// going to log (nil: none). A host whose SSH settings are wrong fails when
// it is read, with the others going on.
func connectSSH(log *slog.Logger) connectFunc {
	return func(s *config.Spec, p remote.Prompter) (steps.HostSource, func()) {
		src, closePool, _ := steps.Connect(s, false, remote.Options{Prompter: p, Logger: log})
		return src, closePool
	}
}

// wizardModules are the kernel modules discovery looks for on a host whose
// role is not chosen yet: those of both roles.
func wizardModules(profile string) []string {
	seen := map[string]bool{}
	var out []string
	for _, role := range []string{"storage", "client"} {
		for _, m := range steps.DiscoverModules(role, profile) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// discoverHost reads one host before its role is known: every whole disk
// and the kernel modules of both roles. Read-only.
func discoverHost(ctx context.Context, src steps.HostSource, s *config.Spec, name string) (*steps.HostFacts, error) {
	h, err := src(ctx, name)
	if err != nil {
		return nil, err
	}
	profile := s.Cluster.Profile
	if profile == "" {
		profile = config.DefaultProfile
	}
	return steps.DiscoverHost(ctx, h, s, wizardModules(profile), steps.AllDisks)
}
