package ui

import (
	"context"
	"fmt"

	"scalestore/config"
	"scalestore/remote"
	"scalestore/steps"
)

// connectFunc opens the SSH side for a spec: a host source for discovery,
// the engine and the checks, and a function that closes it. Tests replace
// it with scripted hosts.
type connectFunc func(s *config.Spec, p remote.Prompter) (steps.HostSource, func())

// connectSSH is the real connectFunc: one remote.Pool for the spec's hosts,
// asking the wizard's Prompter for passwords and new host keys.
func connectSSH(s *config.Spec, p remote.Prompter) (steps.HostSource, func()) {
	pool := remote.NewPool(remote.Options{Prompter: p})
	targets := map[string]remote.Target{}
	errs := map[string]error{}
	for i := range s.Hosts {
		targets[s.Hosts[i].Name], errs[s.Hosts[i].Name] = steps.TargetFor(s, &s.Hosts[i], false)
	}
	src := func(ctx context.Context, name string) (remote.Host, error) {
		t, ok := targets[name]
		if !ok {
			return nil, fmt.Errorf("host %q is not in the spec", name)
		}
		if err := errs[name]; err != nil {
			return nil, err
		}
		return pool.Get(ctx, t)
	}
	return src, func() { pool.Close() }
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
